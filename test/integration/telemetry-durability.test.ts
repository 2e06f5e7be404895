/**
 * A measurepoint's `_reply` is only sent once its value is durable (docs/PERFORMANCE-NOTES.md,
 * "Telemetry store"): the real hub binary is killed with SIGKILL the moment a reply arrives, and
 * after a restart over the same data directory every replied value reads back through REST.
 * Both forms: single posts, and post/batch requests.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { ApiClient } from '@edgehub/hub';
import { connectDevice, provision, spawnHub, type AdminCredentials, type ProvisionedDevice, type SpawnedHub } from '../src/index.js';

// Recent: the default retention (HUB_TELEMETRY_RETENTION_DAYS) prunes older history at start.
const T = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
type History = { items: { measurepoint: string; time: number; value: unknown }[]; nextCursor: string | null };
type Latest = { assetId: string; measurepoints: Record<string, { value: unknown; time: number }> }[];

const dirs: string[] = [];
const hubs: SpawnedHub[] = [];
afterAll(async () => {
  for (const h of hubs) await h.stop('SIGKILL');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function adminOf(hub: SpawnedHub, dataDir: string): Promise<{ admin: ApiClient; orgId: string }> {
  const creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
  return {
    admin: new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret }),
    orgId: creds.orgId,
  };
}

/**
 * Publishes every payload at once (QoS 1) and kills the hub with SIGKILL on the first `_reply`;
 * resolves with the ids of all replies that reached the device (each a promise of durability).
 */
async function postUntilKilled(hub: SpawnedHub, device: ProvisionedDevice, topic: string, payloads: { id: string; body: string }[]) {
  const d = await connectDevice(hub.mqttUrl!, device);
  const replied: string[] = [];
  const exited = new Promise<void>((resolve) => hub.child.once('exit', () => resolve()));
  d.client.on('message', (t, payload) => {
    if (t !== `${topic}_reply`) return;
    const reply = JSON.parse(payload.toString('utf8')) as { id: string; code: number };
    if (reply.code !== 200) throw new Error(`reply ${payload.toString('utf8')}`);
    if (replied.length === 0) hub.child.kill('SIGKILL');
    replied.push(reply.id);
  });
  for (const p of payloads) d.client.publish(topic, p.body, { qos: 1 });
  await exited;
  d.client.end(true);
  return replied;
}

describe('telemetry durability: the _reply comes after the value is on disk', () => {
  it('single posts and post/batch requests survive a SIGKILL right after their reply', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-telemetry-durable-'));
    dirs.push(dataDir);
    const first = await spawnHub({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, 120_000);
    hubs.push(first);
    let { admin, orgId } = await adminOf(first, dataDir);
    const product = await provision(admin, orgId, {
      productType: 'Device',
      deviceKeys: ['meter'],
      product: { thingModel: { measurepoints: { flow: { dataType: 'DOUBLE' } } } },
    });
    const device = product.devices[0]!;

    // 1. Single posts: 50 in flight, the hub dies at the first reply.
    const posts = Array.from({ length: 50 }, (_, i) => ({
      id: `p${i}`,
      body: JSON.stringify({
        id: `p${i}`,
        version: '1.0',
        method: 'thing.measurepoint.post',
        params: { time: T + i, measurepoints: { flow: i + 0.5 } },
      }),
    }));
    const postReplies = await postUntilKilled(first, device, topics.measurepointPost(device.productKey, device.deviceKey), posts);
    expect(postReplies.length).toBeGreaterThan(0);

    // 2. post/batch: 20 requests of 100 entries in flight, on a hub restarted over the same data.
    const second = await spawnHub({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, 120_000);
    hubs.push(second);
    const batches = Array.from({ length: 20 }, (_, b) => ({
      id: `b${b}`,
      body: JSON.stringify({
        id: `b${b}`,
        version: '1.0',
        method: 'thing.measurepoint.post.batch',
        params: Array.from({ length: 100 }, (_, i) => ({ time: T + 10_000 + b * 100 + i, measurepoints: { flow: b * 100 + i } })),
      }),
    }));
    const batchReplies = await postUntilKilled(second, device, topics.measurepointPostBatch(device.productKey, device.deviceKey), batches);
    expect(batchReplies.length).toBeGreaterThan(0);

    // 3. Restart once more and read everything back over REST.
    const third = await spawnHub({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, 120_000);
    hubs.push(third);
    ({ admin, orgId } = await adminOf(third, dataDir));
    const stored = new Map<number, unknown>();
    let cursor: string | null | undefined;
    do {
      const page = await admin.ok<History>(
        'POST',
        '/connect-service/v2.1/measurepoints',
        { action: 'queryHistory', orgId, assetId: device.assetId },
        { measurepoints: ['flow'], startTime: T, endTime: T + 20_000, pageSize: 1000, ...(cursor ? { cursor } : {}) },
      );
      for (const item of page.data.items) stored.set(item.time, item.value);
      cursor = page.data.nextCursor;
    } while (cursor);

    for (const id of postReplies) {
      const i = Number(id.slice(1));
      expect(stored.get(T + i), `post ${id} was acknowledged`).toBe(i + 0.5);
    }
    for (const id of batchReplies) {
      const b = Number(id.slice(1));
      for (let i = 0; i < 100; i++)
        expect(stored.get(T + 10_000 + b * 100 + i), `batch ${id} entry ${i} was acknowledged`).toBe(b * 100 + i);
    }
    // The latest value is the newest acknowledged one (or a newer unacknowledged one that made it).
    const newest = Math.max(...batchReplies.map((id) => T + 10_000 + Number(id.slice(1)) * 100 + 99));
    const latest = await admin.ok<Latest>(
      'POST',
      '/connect-service/v2.1/measurepoints',
      { action: 'queryLatest', orgId },
      { assetIds: [device.assetId] },
    );
    expect(latest.data[0]!.measurepoints['flow']!.time).toBeGreaterThanOrEqual(newest);
    expect(await third.stop('SIGTERM')).toBe(0);
  }, 600_000);
});
