import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { ApiClient } from '@edgehub/hub';
import {
  connectApp,
  connectDevice,
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
 * Two hub processes sharing a real redis-server (sessions, fan-out, cluster state) and one registry.
 * The registry is the embedded store opened by both processes (LMDB is multi-process safe on one
 * host); a multi-host cluster uses MongoDB instead.
 */
describe.runIf(run)('cluster of two hub nodes over Redis', () => {
  let redis: RunningRedis;
  let dataDir: string;
  let node1: SpawnedHub;
  let node2: SpawnedHub;
  let admin1: ApiClient;
  let admin2: ApiClient;
  let creds: AdminCredentials;
  let product: ProvisionedProduct;

  beforeAll(async () => {
    redis = await startRedis();
    dataDir = await mkdtemp(join(tmpdir(), 'edgehub-cluster-'));
    const env = { HUB_DATA_DIR: dataDir, REDIS_URL: redis.url, LOG_LEVEL: 'warn' };
    node1 = await spawnHub({ ...env, HUB_NODE_ID: 'node-1' });
    node2 = await spawnHub({ ...env, HUB_NODE_ID: 'node-2' });
    creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
    admin1 = new ApiClient({ baseUrl: node1.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
    admin2 = new ApiClient({ baseUrl: node2.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
    product = await provision(admin1, creds.orgId, {
      productType: 'Device',
      deviceKeys: ['d1', 'd2', 'd3'],
      product: { thingModel: { services: { echo: { inputData: { n: { dataType: 'INT' } }, outputData: { n: { dataType: 'INT' } } } } } },
    });
  }, 60_000);

  afterAll(async () => {
    await node1?.stop('SIGTERM');
    await node2?.stop('SIGTERM');
    await redis?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers a command issued through node 2 to a device connected to node 1, and returns its reply', async () => {
    const d = product.devices[0]!;
    const dev = await connectDevice(node1.mqttUrl!, d);
    try {
      dev.client.on('message', (topic, payload) => {
        const p = topics.parse(topic);
        if (p?.kind !== 'serviceInvoke' || p.isReply) return;
        const msg = JSON.parse(payload.toString()) as { id: string; params: { n: number } };
        void dev.client.publishAsync(topics.reply(topic), JSON.stringify({ id: msg.id, code: 200, data: { n: msg.params.n * 2 } }));
      });
      // the device is online for node 2 as soon as node 1 has written it (shared registry)
      const r = await admin2.call<{ outputData: { n: number } }>(
        'POST',
        '/connect-service/v2.1/commands',
        { action: 'invokeService', orgId: creds.orgId, assetId: d.assetId, serviceId: 'echo', timeout: '10' },
        { inputData: { n: 21 } },
      );
      expect(r).toMatchObject({ code: 0, data: { outputData: { n: 42 } } });
    } finally {
      await dev.end();
    }
  });

  it('lets an application on node 2 see data published on node 1', async () => {
    const d = product.devices[1]!;
    const app = await connectApp(node2.mqttUrl!, creds.accessKey, creds.accessSecret, 'cluster-app');
    const dev = await connectDevice(node1.mqttUrl!, d);
    try {
      await app.subscribeAsync(`org/${creds.orgId}/devices/${d.productKey}/${d.deviceKey}/measurepoints`, { qos: 0 });
      const got = new Promise<any>((resolve) => app.on('message', (_t, p) => resolve(JSON.parse(p.toString()))));
      expect(
        (await dev.request(topics.measurepointPost(d.productKey, d.deviceKey), 'thing.measurepoint.post', { measurepoints: { v: 7 } }))
          .code,
      ).toBe(200);
      expect(await got).toMatchObject({ type: 'measurepoints', assetId: d.assetId, measurepoints: { v: { value: 7 } } });
    } finally {
      await dev.end();
      await app.endAsync(true);
    }
  });

  it('moves a persistent session from node 1 to node 2 and redelivers the QoS 1 message it had not acknowledged', async () => {
    const d = product.devices[2]!;
    const timestamp = String(Date.now());
    const opts = { clientId: 'persistent-d3', timestamp, clean: false } as const;
    const first = await connectDevice(node1.mqttUrl!, d, opts);
    // Drop the connection the moment the command arrives, before mqtt.js can PUBACK it.
    const dropped = new Promise<string>((resolve) => {
      first.client.on('packetreceive', (packet) => {
        if (packet.cmd === 'publish' && packet.topic.includes('/thing/service/')) {
          first.client.stream.destroy();
          resolve(JSON.parse(packet.payload.toString()).id as string);
        }
      });
    });
    const command = admin2.call<{ outputData: { n: number } }>(
      'POST',
      '/connect-service/v2.1/commands',
      { action: 'invokeService', orgId: creds.orgId, assetId: d.assetId, serviceId: 'echo', timeout: '20' },
      { inputData: { n: 5 } },
    );
    const lostId = await dropped;
    await first.client.endAsync(true).catch(() => undefined);

    // Same ClientId, clean session off, now on node 2: the unacknowledged command comes back.
    const second = await connectDevice(node2.mqttUrl!, d, opts);
    try {
      const again = await second.next((t) => t.includes('/thing/service/echo'), 10_000);
      expect(again.json.id).toBe(lostId);
      await second.client.publishAsync(topics.reply(again.topic), JSON.stringify({ id: lostId, code: 200, data: { n: 10 } }));
      expect(await command).toMatchObject({ code: 0, data: { outputData: { n: 10 } } });
    } finally {
      await second.end();
    }
  });

  it('loses no QoS 1 message node 1 acknowledged when node 1 is killed with SIGKILL', async () => {
    const d = product.devices[0]!;
    const dev = await connectDevice(node1.mqttUrl!, d, { clientId: 'kill-test' });
    const acked: number[] = [];
    const base = Date.now() - 60_000;
    const topic = topics.measurepointPost(d.productKey, d.deviceKey);
    // Publish a steady stream; each publishAsync resolves on the PUBACK, which the hub sends only
    // after the telemetry store has accepted the sample.
    let killed = false;
    let reached300!: () => void;
    const threeHundred = new Promise<void>((resolve) => (reached300 = resolve));
    const publisher = (async () => {
      for (let i = 0; i < 2000 && !killed; i++) {
        const time = base + i;
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
          acked.push(time);
          if (acked.length === 300) reached300();
        } catch {
          return;
        }
      }
    })();
    // kill mid-stream, after a few hundred acknowledgements
    await threeHundred;
    killed = true;
    const died = new Promise((resolve) => node1.child.once('exit', resolve));
    node1.child.kill('SIGKILL');
    await died;
    // The publish in flight at the kill never gets its PUBACK: it is not counted as acknowledged.
    void publisher;
    dev.client.end(true);
    expect(acked.length).toBeGreaterThanOrEqual(300);

    // Everything acknowledged is there, read through node 2.
    const found = new Set<number>();
    let cursor: string | undefined;
    do {
      const page = await admin2.call<{ items: { time: number }[]; nextCursor: string | null }>(
        'POST',
        '/connect-service/v2.1/measurepoints',
        { action: 'queryHistory', orgId: creds.orgId, assetId: d.assetId },
        { measurepoints: ['seq'], startTime: base, endTime: base + 2000, pageSize: 1000, ...(cursor ? { cursor } : {}) },
      );
      expect(page.code).toBe(0);
      for (const item of page.data.items) found.add(item.time);
      cursor = page.data.nextCursor ?? undefined;
    } while (cursor);
    expect(acked.filter((t) => !found.has(t))).toEqual([]);
  });

  it('runs the roles apart: a manager node serves the REST API without device listeners, a worker no management API', async () => {
    const env = { HUB_DATA_DIR: dataDir, REDIS_URL: redis.url, LOG_LEVEL: 'warn' };
    const manager = await spawnHub({ ...env, HUB_ROLE: 'manager', HUB_NODE_ID: 'manager-1' });
    const worker = await spawnHub({ ...env, HUB_ROLE: 'worker', HUB_NODE_ID: 'worker-1' });
    try {
      expect(manager.mqttUrl).toBeUndefined();
      expect(manager.output()).toContain('manager node: no device listeners');
      expect(worker.mqttUrl).toBeDefined();
      // the worker answers health and metrics, and nothing of the management API
      expect((await fetch(`${worker.baseUrl}/health`)).status).toBe(200);
      expect((await fetch(`${worker.baseUrl}/apim-token-service/v2.0/token/get`, { method: 'POST' })).status).toBe(404);
      // a command issued through the manager reaches a device connected to the worker
      const d = product.devices[1]!;
      const dev = await connectDevice(worker.mqttUrl!, d, { clientId: 'on-worker' });
      dev.client.on('message', (topic, payload) => {
        if (topics.parse(topic)?.kind !== 'serviceInvoke') return;
        const msg = JSON.parse(payload.toString()) as { id: string };
        void dev.client.publishAsync(topics.reply(topic), JSON.stringify({ id: msg.id, code: 200, data: { n: 1 } }));
      });
      const viaManager = new ApiClient({ baseUrl: manager.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
      const r = await viaManager.call(
        'POST',
        '/connect-service/v2.1/commands',
        { action: 'invokeService', orgId: creds.orgId, assetId: d.assetId, serviceId: 'echo', timeout: '10' },
        { inputData: { n: 1 } },
      );
      expect(r).toMatchObject({ code: 0, data: { outputData: { n: 1 } } });
      await dev.end();
    } finally {
      await manager.stop();
      await worker.stop();
    }
  });
});
