import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { ApiClient } from '@edgehub/hub';
import {
  connectDevice,
  eventually,
  hasRedisServer,
  provision,
  requireService,
  spawnHub,
  startRedis,
  type AdminCredentials,
  type ProvisionedProduct,
  type RunningRedis,
  type SpawnedHub,
} from '../src/index.js';

const run = requireService(hasRedisServer(), 'redis-server (Debian package redis-server)');

/**
 * The cluster's failure cases with real processes: a node that dies and never comes back, a node
 * restarted under the same HUB_NODE_ID, and Redis going away under two running nodes.
 */
describe.runIf(run)('cluster resilience (real hub processes, real redis-server)', { timeout: 120_000 }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function cluster(redis: RunningRedis, extraEnv: Record<string, string> = {}) {
    const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-resilience-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const env = { HUB_DATA_DIR: dataDir, REDIS_URL: redis.url, LOG_LEVEL: 'warn', HUB_CLUSTER_NODE_TTL_MS: '1500', ...extraEnv };
    const spawn = async (nodeId: string) => {
      const node = await spawnHub({ ...env, HUB_NODE_ID: nodeId });
      cleanups.push(() => node.stop('SIGKILL'));
      return node;
    };
    const first = await spawn('node-1');
    const creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
    const admin = (node: SpawnedHub) =>
      new ApiClient({ baseUrl: node.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
    const product: ProvisionedProduct = await provision(admin(first), creds.orgId, {
      productType: 'Device',
      deviceKeys: ['d1', 'd2'],
      product: { thingModel: { services: { echo: { inputData: { n: { dataType: 'INT' } }, outputData: { n: { dataType: 'INT' } } } } } },
    });
    const status = async (node: SpawnedHub, assetId: string) =>
      (await admin(node).call<{ status: string }>('GET', '/connect-service/v2.1/devices', { action: 'get', orgId: creds.orgId, assetId }))
        .data.status;
    return { dataDir, creds, product, admin, spawn, first, status };
  }

  it('takes the devices of a node that died and never came back offline (node liveness)', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const c = await cluster(redis);
    const second = await c.spawn('node-2');
    const d = c.product.devices[0]!;
    const dev = await connectDevice(c.first.mqttUrl!, d);
    await eventually(async () => (await c.status(second, d.assetId)) === 'online', 5_000, 'device online');
    c.first.child.kill('SIGKILL');
    dev.client.end(true);
    // Nobody sees the device's TCP close: only the dead node's expired liveness can say it is gone.
    await eventually(async () => (await c.status(second, d.assetId)) === 'offline', 10_000, 'device of the dead node offline');
  });

  it('does not forward a queue kick to itself after a restart under the same HUB_NODE_ID', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const c = await cluster(redis);
    const d = c.product.devices[0]!;
    const dev = await connectDevice(c.first.mqttUrl!, d);
    await eventually(async () => (await c.status(c.first, d.assetId)) === 'online', 5_000, 'device online');
    c.first.child.kill('SIGKILL');
    dev.client.end(true);
    const again = await c.spawn('node-1');
    // The record naming node-1 is stale: the restarted node-1 holds no session of the device.
    await eventually(async () => (await c.status(again, d.assetId)) === 'offline', 10_000, 'stale session of the restarted node cleared');
    const queued = await c
      .admin(again)
      .call(
        'POST',
        '/connect-service/v2.1/commands',
        { action: 'invokeService', orgId: c.creds.orgId, assetId: d.assetId, serviceId: 'echo', pendingTtl: '600' },
        { inputData: { n: 1 } },
      );
    expect(queued.code).toBe(0);
    // A loop shows as thousands of PUBLISHes a second (one per kick); an idle node sends a handful.
    const before = await redis.commandCount('publish');
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await redis.commandCount('publish')) - before).toBeLessThan(30);
    expect(again.child.exitCode).toBeNull();
  });

  it('keeps both nodes serving while Redis is down, loses no acknowledged post, and recovers when Redis returns', async () => {
    const redis = await startRedis();
    let current: RunningRedis | undefined = redis;
    cleanups.push(() => current?.stop() ?? Promise.resolve());
    const c = await cluster(redis);
    const second = await c.spawn('node-2');
    const d = c.product.devices[0]!;
    const dev = await connectDevice(c.first.mqttUrl!, d, { mqtt: { reconnectPeriod: 0 } });
    cleanups.push(() => dev.end());
    dev.client.on('message', (topic, payload) => {
      if (topics.parse(topic)?.kind !== 'serviceInvoke') return;
      const msg = JSON.parse(payload.toString()) as { id: string; params: { n: number } };
      void dev.client.publishAsync(topics.reply(topic), JSON.stringify({ id: msg.id, code: 200, data: { n: msg.params.n + 1 } }));
    });
    const topic = topics.measurepointPost(d.productKey, d.deviceKey);
    const base = Date.now() - 60_000;
    const acked: number[] = [];
    const post = async (i: number) => {
      const time = base + i;
      await dev.client.publishAsync(
        topic,
        JSON.stringify({ id: String(i), version: '1.0', method: 'thing.measurepoint.post', params: { measurepoints: { seq: i }, time } }),
        { qos: 1 },
      );
      acked.push(time);
    };
    for (let i = 0; i < 10; i++) await post(i);

    await redis.stop();
    current = undefined;
    // The connected device keeps posting on its node; every post is acknowledged.
    for (let i = 10; i < 40; i++) await post(i);
    for (const node of [c.first, second]) {
      expect(node.child.exitCode).toBeNull();
      expect((await fetch(`${node.baseUrl}/health`)).status).toBe(200);
    }
    expect(await (await fetch(`${second.baseUrl}/health`)).json()).toEqual({ status: 'degraded' });
    // A command across nodes needs Redis: it fails at once with the device-offline code, nothing hangs.
    const during = await c
      .admin(second)
      .call(
        'POST',
        '/connect-service/v2.1/commands',
        { action: 'invokeService', orgId: c.creds.orgId, assetId: d.assetId, serviceId: 'echo', timeout: '5' },
        { inputData: { n: 1 } },
      );
    expect(during.code).toBe(11900);

    current = await startRedis({ port: redis.port });
    for (let i = 40; i < 50; i++) await post(i);
    // Cross-node commands need Redis: once it is back, one issued on node 2 reaches the device on node 1.
    await eventually(
      async () => {
        const r = await c
          .admin(second)
          .call<{ outputData: { n: number } }>(
            'POST',
            '/connect-service/v2.1/commands',
            { action: 'invokeService', orgId: c.creds.orgId, assetId: d.assetId, serviceId: 'echo', timeout: '3' },
            { inputData: { n: 41 } },
          );
        return r.code === 0 && r.data.outputData.n === 42;
      },
      20_000,
      'cross-node command after Redis came back',
    );

    const page = await c
      .admin(second)
      .call<{ items: { time: number }[] }>(
        'POST',
        '/connect-service/v2.1/measurepoints',
        { action: 'queryHistory', orgId: c.creds.orgId, assetId: d.assetId },
        { measurepoints: ['seq'], startTime: base, endTime: base + 100, pageSize: 1000 },
      );
    const stored = new Set(page.data.items.map((x) => x.time));
    expect(acked).toHaveLength(50);
    expect(acked.filter((t) => !stored.has(t))).toEqual([]);
  });

  it("a node that restarts leaves other nodes' commands alone; a reply settles its command on any node", async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const c = await cluster(redis);
    let second = await c.spawn('node-2');
    const d = c.product.devices[0]!;
    const dev = await connectDevice(c.first.mqttUrl!, d);
    cleanups.push(() => dev.end());
    const delivered = dev.next((t) => t.includes('/thing/service/echo'), 20_000);
    const queued = await c
      .admin(second)
      .call<{ commandId: string }>(
        'POST',
        '/connect-service/v2.1/commands',
        { action: 'invokeService', orgId: c.creds.orgId, assetId: d.assetId, serviceId: 'echo', pendingTtl: '600', timeout: '60' },
        { inputData: { n: 1 } },
      );
    const command = await delivered;
    // node-2 restarts while node-1 waits for the device's answer
    await second.stop('SIGKILL');
    second = await c.spawn('node-2');
    const status = async () =>
      (
        await c.admin(second).call<{ status: string }>('GET', '/connect-service/v2.1/commands', {
          action: 'get',
          orgId: c.creds.orgId,
          commandId: queued.data.commandId,
        })
      ).data.status;
    expect(await status()).toBe('sent');
    await dev.client.publishAsync(topics.reply(command.topic), JSON.stringify({ id: command.json.id, code: 200, data: { n: 1 } }));
    await eventually(async () => (await status()) === 'replied', 10_000, 'command replied');
  });

  it('acknowledges a persistent-session device while Redis is frozen (the PUBACK never waits on Redis)', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const c = await cluster(redis);
    const d = c.product.devices[1]!;
    const dev = await connectDevice(c.first.mqttUrl!, d, { clean: false, clientId: 'persistent' });
    cleanups.push(() => dev.end());
    const topic = topics.measurepointPost(d.productKey, d.deviceKey);
    const post = (i: number) =>
      dev.client.publishAsync(
        topic,
        JSON.stringify({
          id: String(i),
          version: '1.0',
          method: 'thing.measurepoint.post',
          params: { measurepoints: { seq: i }, time: Date.now() },
        }),
        { qos: 1 },
      );
    await post(0);
    redis.pause();
    try {
      // The PUBACK must come while Redis is still frozen; resumed after 8 s at the latest.
      const acked = await Promise.race([
        post(1).then(() => 'acknowledged while Redis was frozen'),
        new Promise((r) => setTimeout(() => r('waited for Redis'), 8_000)),
      ]);
      expect(acked).toBe('acknowledged while Redis was frozen');
    } finally {
      redis.resume();
    }
  });
});
