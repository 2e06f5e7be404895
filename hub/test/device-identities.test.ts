import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSpecs } from '../src/registry/collections.js';
import { DeviceIdentities } from '../src/registry/device-lookup.js';
import { RegistryEventBus } from '../src/registry/events.js';
import type { DeviceRecord } from '../src/registry/records.js';
import { openEmbeddedStore } from '../src/store/embedded/store.js';
import type { Collection, Store } from '../src/store/port.js';

/** The org and keys of many devices at once, for queryLatest (hub/src/registry/device-lookup.ts). */
describe('DeviceIdentities', () => {
  const base = mkdtempSync(join(tmpdir(), 'device-identities-'));
  let store: Store;
  let devices: Collection<DeviceRecord>;

  const record = (assetId: string, orgId: string): DeviceRecord => ({
    assetId,
    orgId,
    productKey: 'pk',
    productType: 'Device',
    deviceKey: `key-${assetId}`,
    deviceSecret: 'secret',
    deviceName: { defaultValue: assetId },
    timezone: '+08:00',
    deviceAttributes: {},
    deviceTags: {},
    status: 'inactive',
    createBy: 'test',
    createTime: 1,
    updateTime: 1,
  });

  beforeAll(async () => {
    store = await openEmbeddedStore({ path: join(base, 'store') });
    devices = await store.collection<DeviceRecord>(collectionSpecs.devices);
    await devices.insertMany([record('a1', 'o1'), record('a2', 'o1'), record('b1', 'o2')]);
  });
  afterAll(async () => {
    await store.close();
    rmSync(base, { recursive: true, force: true });
  });

  for (const cacheRecords of [true, false]) {
    it(`answers org and keys of the devices that exist, each once (records ${cacheRecords ? 'held in memory' : 'read every time'})`, async () => {
      const ids = new DeviceIdentities(devices, new RegistryEventBus(), cacheRecords);
      for (let round = 0; round < 2; round++) {
        const found = await ids.byAssetIds(['b1', 'a1', 'nope', 'a1']);
        expect([...found.keys()]).toEqual(['b1', 'a1']);
        expect(found.get('b1')).toEqual({ assetId: 'b1', orgId: 'o2', productKey: 'pk', deviceKey: 'key-b1' });
      }
      expect((await ids.byAssetIds([])).size).toBe(0);
    });
  }

  it('held in memory, a device is gone from the answer as soon as its deletion is announced', async () => {
    const events = new RegistryEventBus();
    const ids = new DeviceIdentities(devices, events, true);
    await devices.insert(record('gone', 'o1'));
    expect((await ids.byAssetIds(['gone', 'a2'])).has('gone')).toBe(true);
    const d = (await devices.get('gone'))!;
    await devices.delete('gone');
    events.emit('deviceDeleted', d);
    const after = await ids.byAssetIds(['gone', 'a2']);
    expect([...after.keys()]).toEqual(['a2']);
  });

  it('read every time (a cluster), a device deleted by another node is gone on the next call', async () => {
    const ids = new DeviceIdentities(devices, new RegistryEventBus(), false);
    await devices.insert(record('elsewhere', 'o1'));
    expect((await ids.byAssetIds(['elsewhere'])).has('elsewhere')).toBe(true);
    await devices.delete('elsewhere');
    expect((await ids.byAssetIds(['elsewhere'])).has('elsewhere')).toBe(false);
  });

  it('a device created after an unsuccessful lookup is found by the next one', async () => {
    const ids = new DeviceIdentities(devices, new RegistryEventBus(), true);
    expect((await ids.byAssetIds(['late'])).size).toBe(0);
    await devices.insert(record('late', 'o2'));
    expect((await ids.byAssetIds(['late'])).get('late')?.orgId).toBe('o2');
  });
});
