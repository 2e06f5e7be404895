import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'aedes';
import { open } from 'lmdb';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLifecycle } from '../src/broker/lifecycle.js';
import type { DeviceRecord } from '../src/registry/records.js';
import type { Registry } from '../src/registry/registry.js';
import { SessionRegistry, type DeviceSession } from '../src/sessions/sessions.js';
import { openRegistryFixture, type RegistryFixture } from './support/registry-fixture.js';

/**
 * Device status writes are group-committed (hub/src/registry/status-commits.ts): writes of one
 * moment share a commit, and each still resolves, and is announced, only once it is committed.
 * What is committed is read through a second, read-only handle on the same LMDB environment, as
 * another process (or the hub after a restart) would read it.
 */
describe('device status writes: group commit', () => {
  let fixture: RegistryFixture;
  let path: string;
  let registry: Registry;
  let productKey: string;

  beforeAll(async () => {
    // A window far longer than the test takes to issue its writes: what shares a commit is certain, not timing.
    fixture = await openRegistryFixture('edgehub-status-commits-', {
      cacheRecords: true,
      statusCommits: { windowMs: 1_000, maxBatch: 500 },
    });
    ({ path, registry, productKey } = fixture);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  /** The committed state: the environment's last transaction and a device's record, as a fresh reader sees them. */
  async function committed(assetId?: string): Promise<{ txn: number; device?: DeviceRecord }> {
    const env = open({ path, readOnly: true });
    try {
      const txn = (env.getStats() as { lastTxnId: number }).lastTxnId;
      const device =
        assetId === undefined
          ? undefined
          : (env.openDB<DeviceRecord, string>({ name: 'docs:devices', encoding: 'json' }).get(assetId) ?? undefined);
      return { txn, ...(device ? { device } : {}) };
    } finally {
      await env.close();
    }
  }

  const newDevices = async (prefix: string, n: number) => {
    const created = await registry.devices.batchCreate(
      'org1',
      Array.from({ length: n }, (_, i) => ({
        productKey,
        deviceKey: `${prefix}${i}`,
        deviceName: { defaultValue: `${prefix}${i}` },
        timezone: '+08:00',
      })),
      'test',
    );
    return created.map((r) => {
      if (r.code !== 0 || r.data === null) throw new Error(r.msg);
      return r.data;
    });
  };

  it('status writes arriving one by one within the window share one commit, and each resolves once committed', async () => {
    const devices = await newDevices('storm', 20);
    const before = await committed();
    const writes: Promise<void>[] = [];
    for (const d of devices) {
      writes.push(
        registry.devices.markOnline(d.assetId, 1000, { productKey, deviceKey: d.deviceKey, activated: false }).then(async (updated) => {
          expect(updated?.status).toBe('online');
          // Resolved: the write is committed, not merely applied in memory.
          expect((await committed(d.assetId)).device).toMatchObject({ status: 'online', activeTime: 1000 });
        }),
      );
      // One write every millisecond or so, as CONNACKs arrive in a storm.
      await sleep(1);
    }
    await Promise.all(writes);
    // Without the batching the first write's commit starts at once, and the later ones join the commits after it.
    expect((await committed()).txn - before.txn).toBe(1);

    const offBefore = await committed();
    const offline: Promise<unknown>[] = [];
    for (const d of devices) {
      offline.push(registry.devices.markOffline(d.assetId, 2000));
      await sleep(1);
    }
    await Promise.all(offline);
    expect((await committed()).txn - offBefore.txn).toBe(1);
    for (const d of devices) expect((await committed(d.assetId)).device).toMatchObject({ status: 'offline', lastOfflineTime: 2000 });
  });

  it('the lifecycle announces online and offline only once the status is committed', async () => {
    const [d] = await newDevices('announced', 1);
    const lifecycle = new DeviceLifecycle(registry, new SessionRegistry(), pino({ level: 'silent' }), () => 5000);
    // What a reader of the store saw at the moment each status was announced.
    const seen: Promise<{ status: string; stored?: string }>[] = [];
    const record = (status: string) => seen.push(committed(d!.assetId).then((c) => ({ status, stored: c.device?.status })));
    lifecycle.on('online', (dev) => dev.assetId === d!.assetId && record('online'));
    lifecycle.on('offline', (dev) => dev.assetId === d!.assetId && record('offline'));
    const session: DeviceSession = {
      client: { id: 'c1' } as Client,
      device: { assetId: d!.assetId, orgId: 'org1', productKey, deviceKey: d!.deviceKey, productType: 'Device' },
      listener: 'tcp',
      mutualTls: false,
      compression: 'none',
      secureMode: '2',
      connectedAt: 5000,
      subDevices: new Map(),
    };
    lifecycle.connected(session, false);
    await lifecycle.settled();
    lifecycle.disconnected(session);
    await lifecycle.settled();
    expect(await Promise.all(seen)).toEqual([
      { status: 'online', stored: 'online' },
      { status: 'offline', stored: 'offline' },
    ]);
  });
});
