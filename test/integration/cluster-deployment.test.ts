import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { ApiClient } from '@edgehub/hub';
import { composeTopology, hubNodeFlags, renderHaproxyConfig, startLocalCluster, type LocalCluster } from '@edgehub/hub/deploy';
import {
  connectDevice,
  eventually,
  hasRedisServer,
  provision,
  repoRoot,
  requireService,
  type AdminCredentials,
  type ProvisionedProduct,
  type TestDevice,
} from '../src/index.js';

const hasHaproxy = spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
const run =
  requireService(hasRedisServer(), 'redis-server (Debian package redis-server)') &&
  requireService(hasHaproxy, 'haproxy (Debian package haproxy)');
const runCompose = requireService(hasCompose, 'docker-compose (Debian package docker-compose, for `config -q`)');

describe.runIf(runCompose)('the deployment files', () => {
  it('docker-compose.yml is valid, and refuses to start without the certificate-service secret or the hub secret key', () => {
    const secrets = { EDGEHUB_CERT_SERVICE_SECRET: 'a'.repeat(64), EDGEHUB_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };
    const ok = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: repoRoot,
      env: { ...process.env, ...secrets },
      encoding: 'utf8',
    });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    for (const name of Object.keys(secrets)) {
      const env: NodeJS.ProcessEnv = { ...process.env, ...secrets };
      delete env[name];
      const missing = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: repoRoot, env, encoding: 'utf8' });
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toContain(name);
    }
  });

  it.runIf(hasHaproxy)("hub/deploy/haproxy.cfg is the template's rendering for the compose services, and HAProxy accepts it", async () => {
    expect(await readFile(join(repoRoot, 'hub/deploy/haproxy.cfg'), 'utf8')).toBe(renderHaproxyConfig(composeTopology));
    const check = spawnSync('haproxy', ['-c', '-f', 'hub/deploy/haproxy.cfg'], { cwd: repoRoot, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});

/**
 * The topology of docker-compose.yml as real processes (npm run cluster): HAProxy in front of two
 * workers and a manager, redis-server, the certificate service. Devices connect only through HAProxy.
 */
describe.runIf(run)('a cluster behind HAProxy: node loss and rolling restart', { timeout: 180_000 }, () => {
  let cluster: LocalCluster;
  let dataDir: string;
  let admin: ApiClient;
  let creds: AdminCredentials;
  let product: ProvisionedProduct;
  const devices: TestDevice[] = [];
  /** Per device: the device times of posts that got a PUBACK. */
  const acked = new Map<string, number[]>();
  /** Per device: command ids received (a repeat shows as a duplicate here). */
  const received = new Map<string, string[]>();
  let posting = true;
  let posters: Promise<void>[] = [];
  const base = Date.now() - 3_600_000;

  const connectionsOn = async (i: number) => {
    const w = cluster.workers[i]!;
    const text = await (await fetch(`http://${w.endpoint.host}:${w.endpoint.httpPort}/metrics`)).text();
    return Number(/^edgehub_mqtt_connections (\d+)/m.exec(text)?.[1] ?? 'NaN');
  };
  const allConnected = () => devices.every((d) => d.client.connected);

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edgehub-deploy-'));
    cluster = await startLocalCluster({
      dataDir,
      workers: 2,
      ports: { mqtt: 0, mqtts: 0, ws: 0, http: 0 },
      checkIntervalMs: 500,
      hubEnv: { HUB_MQTT_CONNECT_THROTTLE: 'false', HUB_CLUSTER_NODE_TTL_MS: '3000', HUB_DRAIN_RATE: '100' },
    });
    creds = JSON.parse(await readFile(cluster.credentialsPath, 'utf8')) as AdminCredentials;
    admin = new ApiClient({ baseUrl: cluster.urls.http, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
    product = await provision(admin, creds.orgId, {
      productType: 'Device',
      deviceKeys: Array.from({ length: 10 }, (_, i) => `lb${i}`),
      product: { thingModel: { services: { echo: { inputData: { n: { dataType: 'INT' } }, outputData: { n: { dataType: 'INT' } } } } } },
    });
    for (const d of product.devices) {
      const dev = await connectDevice(cluster.urls.mqtt, d, {
        clientId: d.deviceKey,
        mqtt: { reconnectPeriod: 200, connectTimeout: 5_000 },
      });
      devices.push(dev);
      acked.set(d.deviceKey, []);
      received.set(d.deviceKey, []);
      dev.client.on('message', (topic, payload) => {
        if (topics.parse(topic)?.kind !== 'serviceInvoke') return;
        const msg = JSON.parse(payload.toString()) as { id: string; params: { n: number } };
        received.get(d.deviceKey)!.push(msg.id);
        dev.client.publish(topics.reply(topic), JSON.stringify({ id: msg.id, code: 200, data: { n: msg.params.n } }), { qos: 1 });
      });
    }
    // Every device posts QoS 1 with its own timestamps, one at a time, until the test stops it.
    posters = product.devices.map(async (d, k) => {
      const dev = devices[k]!;
      const topic = topics.measurepointPost(d.productKey, d.deviceKey);
      for (let i = 0; posting; i++) {
        const time = base + i;
        if (!dev.client.connected) {
          await new Promise((r) => setTimeout(r, 20));
          i--;
          continue;
        }
        try {
          await dev.client.publishAsync(
            topic,
            JSON.stringify({
              id: String(i),
              version: '1.0',
              method: 'thing.measurepoint.post',
              params: { measurepoints: { seq: i }, time },
            }),
            { qos: 1 },
          );
          acked.get(d.deviceKey)!.push(time);
        } catch {
          // not acknowledged (connection lost): mqtt.js resends it after reconnecting; counted then
          i--;
        }
      }
    });
  }, 180_000);

  afterAll(async () => {
    posting = false;
    for (const d of devices) await d.client.endAsync(true).catch(() => undefined);
    await cluster?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const queueCommands = async () => {
    const ids: string[] = [];
    for (const d of product.devices) {
      for (let n = 0; n < 2; n++) {
        const r = await admin.call<{ commandId: string }>(
          'POST',
          '/connect-service/v2.1/commands',
          { action: 'invokeService', orgId: creds.orgId, assetId: d.assetId, serviceId: 'echo', pendingTtl: '600', timeout: '10' },
          { inputData: { n } },
        );
        expect(r.code).toBe(0);
        ids.push(r.data.commandId);
      }
    }
    return ids;
  };
  const allReplied = async (ids: string[]) => {
    for (const id of ids) {
      const r = await admin.call<{ status: string }>('GET', '/connect-service/v2.1/commands', {
        action: 'get',
        orgId: creds.orgId,
        commandId: id,
      });
      if (r.data.status !== 'replied') return false;
    }
    return true;
  };

  it("runs every hub node with the hub's V8 options, as `npm start` gives them", () => {
    for (const node of [...cluster.workers, cluster.manager]) {
      const argv = readFileSync(`/proc/${node.process.child.pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 1 + hubNodeFlags.length), node.name).toEqual([...hubNodeFlags]);
    }
  });

  it('spreads the devices over both workers', async () => {
    await eventually(async () => (await connectionsOn(0)) + (await connectionsOn(1)) === 10, 10_000, 'ten devices connected');
    expect(await connectionsOn(0)).toBeGreaterThan(0);
    expect(await connectionsOn(1)).toBeGreaterThan(0);
  });

  it('kill -9 of a worker: its devices come back through HAProxy, cached commands end replied', async () => {
    await eventually(() => [...acked.values()].every((a) => a.length >= 20), 20_000, 'posts flowing');
    const before = await queueCommands();
    cluster.workers[0]!.process.child.kill('SIGKILL');
    const after = await queueCommands();
    const backMs = await eventually(async () => allConnected() && (await connectionsOn(1)) === 10, 30_000, 'all devices on worker-2');
    console.log(`kill -9 of worker-1: all devices back online through HAProxy after ${backMs} ms`);
    await eventually(() => allReplied([...before, ...after]), 60_000, 'every cached command replied');
  });

  it('rolling restart: SIGTERM drains a worker, nothing lost, no command delivered twice', async () => {
    await cluster.restartWorker(0);
    // HAProxy takes worker-1 back once two health checks pass.
    const ids = await queueCommands();
    const seen = new Map([...received].map(([k, v]) => [k, v.length]));
    await eventually(() => allReplied(ids), 60_000, 'commands replied before the restart');
    const drained = cluster.workers[1]!.process.stop('SIGTERM');
    const backMs = await eventually(async () => allConnected() && (await connectionsOn(0)) === 10, 30_000, 'all devices on worker-1');
    console.log(`SIGTERM of worker-2: all devices back through HAProxy after ${backMs} ms`);
    expect(await drained).toBe(0);
    const late = await queueCommands();
    await eventually(() => allReplied(late), 60_000, 'commands issued after the drain replied');
    for (const [key, list] of received) {
      // every command id exactly once since the restart began
      const since = list.slice(seen.get(key));
      expect(new Set(since).size, `${key} got a command twice`).toBe(since.length);
    }
  });

  it('stored every post that got a PUBACK, each once', async () => {
    posting = false;
    await Promise.all(posters);
    for (const d of product.devices) {
      const want = acked.get(d.deviceKey)!;
      const got: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await admin.call<{ items: { time: number }[]; nextCursor: string | null }>(
          'POST',
          '/connect-service/v2.1/measurepoints',
          { action: 'queryHistory', orgId: creds.orgId, assetId: d.assetId },
          { measurepoints: ['seq'], startTime: base, endTime: base + 1_000_000, pageSize: 1000, ...(cursor ? { cursor } : {}) },
        );
        expect(page.code).toBe(0);
        got.push(...page.data.items.map((x) => x.time));
        cursor = page.data.nextCursor ?? undefined;
      } while (cursor);
      const stored = new Set(got);
      expect(
        want.filter((t) => !stored.has(t)),
        `${d.deviceKey}: acknowledged but not stored`,
      ).toEqual([]);
      expect(got.length, `${d.deviceKey}: a post stored twice`).toBe(stored.size);
    }
  });
});
