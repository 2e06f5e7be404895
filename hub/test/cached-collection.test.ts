import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachedCollection } from '../src/registry/cached-collection.js';
import { collectionSpecs } from '../src/registry/collections.js';
import type { DeviceRecord } from '../src/registry/records.js';
import type { Registry } from '../src/registry/registry.js';
import type { Collection } from '../src/store/port.js';
import { openRegistryFixture, type RegistryFixture } from './support/registry-fixture.js';

/**
 * Device records held in memory on a single-writer hub (hub/src/registry/cached-collection.ts): a
 * read by assetId comes from memory after the first, and every writer of a device (REST update,
 * disable, enable, online/offline status, topology, delete) is seen by the very next read.
 */
describe('device records held in memory', () => {
  let fixture: RegistryFixture;
  let registry: Registry;
  let productKey: string;
  let gatewayProductKey: string;

  beforeAll(async () => {
    fixture = await openRegistryFixture('edgehub-cached-devices-');
    ({ registry, productKey } = fixture);
    gatewayProductKey = (
      await registry.products.create(
        'org1',
        { productName: { defaultValue: 'gw' }, productType: 'Gateway', dataFormat: 'Json', biDirectionalAuth: false },
        'test',
      )
    ).productKey;
  });
  afterAll(async () => {
    await fixture?.close();
  });

  const newDevice = (pk = productKey) =>
    registry.devices.create('org1', { productKey: pk, deviceName: { defaultValue: 'd' }, timezone: '+08:00' }, 'test');

  it('reads the store once, then answers from memory with a record no caller can change', async () => {
    const stored = await fixture.store.collection<DeviceRecord>(collectionSpecs.devices);
    let reads = 0;
    const counting: Collection<DeviceRecord> = Object.create(stored) as Collection<DeviceRecord>;
    counting.get = (id) => {
      reads++;
      return stored.get(id);
    };
    const cached = new CachedCollection(counting, collectionSpecs.devices, 10);
    const { assetId } = await newDevice();
    const first = await cached.get(assetId);
    const second = await cached.get(assetId);
    expect(second).toBe(first);
    expect(reads).toBe(1);
    expect(() => {
      (first as { status: string }).status = 'online';
    }).toThrow(TypeError);
    expect(() => {
      (first!.deviceName as { defaultValue: string }).defaultValue = 'changed';
    }).toThrow(TypeError);
    expect(await cached.get('no-such-device')).toBeUndefined();
    expect(await cached.get('no-such-device')).toBeUndefined();
    expect(reads).toBe(3);
  });

  it('shows every write through the registry on the next read', async () => {
    const d = await newDevice();
    const gw = await newDevice(gatewayProductKey);
    const read = async () => (await registry.devices.find({ assetId: d.assetId }))!;
    const ref = { assetId: d.assetId };

    await read();
    await registry.devices.update('org1', ref, { deviceDesc: 'second floor' }, true);
    expect((await read()).deviceDesc).toBe('second floor');

    await registry.devices.markOnline(d.assetId, 1_000, { productKey, deviceKey: d.deviceKey, activated: false });
    expect(await read()).toMatchObject({ status: 'online', activeTime: 1_000, lastOnlineTime: 1_000 });

    await registry.devices.markOffline(d.assetId, 2_000);
    expect(await read()).toMatchObject({ status: 'offline', lastOfflineTime: 2_000 });

    await registry.devices.disable('org1', ref);
    expect((await read()).status).toBe('disabled');
    await registry.devices.enable('org1', ref);
    expect((await read()).status).toBe('offline');

    await registry.topology.addSubDevices('org1', { assetId: gw.assetId }, [ref]);
    expect((await read()).gatewayAssetId).toBe(gw.assetId);
    await registry.devices.delete('org1', { assetId: gw.assetId });
    expect((await read()).gatewayAssetId).toBeUndefined();

    await registry.devices.delete('org1', ref);
    expect(await registry.devices.find(ref)).toBeUndefined();
  });

  it('never keeps a record read before a write that landed while the read was in flight', async () => {
    const d = await newDevice();
    const devices = registry.devices;
    // The read starts before the update commits and ends after it: what it fetched must not stay.
    const before = devices.find({ assetId: d.assetId });
    await devices.update('org1', { assetId: d.assetId }, { deviceDesc: 'after' }, true);
    await before;
    expect((await devices.find({ assetId: d.assetId }))!.deviceDesc).toBe('after');
  });
});
