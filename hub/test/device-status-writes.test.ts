import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../src/registry/registry.js';
import { openRegistryFixture, type RegistryFixture } from './support/registry-fixture.js';

/**
 * The `online` write after a CONNECT (Devices.markOnline) with what the CONNECT check saw: the hint
 * only picks which conditional write runs first; the stored record decides.
 */
describe('device status writes', () => {
  let fixture: RegistryFixture;
  let registry: Registry;
  let productKey: string;

  beforeAll(async () => {
    fixture = await openRegistryFixture('edgehub-status-');
    ({ registry, productKey } = fixture);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  const newDevice = (deviceKey: string) =>
    registry.devices.create('org1', { productKey, deviceKey, deviceName: { defaultValue: deviceKey }, timezone: '+08:00' }, 'test');

  it('a first login sets activeTime once, and the CONNECT check sees it at once', async () => {
    const d = await newDevice('first');
    expect((await registry.devices.forConnect(productKey, 'first'))?.activeTime).toBeUndefined();
    const online = await registry.devices.markOnline(d.assetId, 1000, { productKey, deviceKey: 'first', activated: false });
    expect(online).toMatchObject({ status: 'online', activeTime: 1000, lastOnlineTime: 1000 });
    expect((await registry.devices.forConnect(productKey, 'first'))?.activeTime).toBe(1000);
    // A stale "not activated" must not move activeTime.
    const again = await registry.devices.markOnline(d.assetId, 2000, { productKey, deviceKey: 'first', activated: false });
    expect(again).toMatchObject({ status: 'online', activeTime: 1000, lastOnlineTime: 2000 });
  });

  it('a device disabled after its CONNECT check stays disabled, whatever the check saw', async () => {
    for (const activated of [true, false]) {
      const key = `disabled-${activated}`;
      const d = await newDevice(key);
      if (activated) await registry.devices.markOnline(d.assetId, 1000);
      await registry.devices.disable('org1', { assetId: d.assetId });
      await registry.devices.markOnline(d.assetId, 3000, { productKey, deviceKey: key, activated });
      const stored = await registry.devices.find({ assetId: d.assetId });
      expect(stored?.status).toBe('disabled');
      expect(stored?.lastOnlineTime).toBe(activated ? 1000 : undefined);
    }
  });

  it('offline only moves an online device', async () => {
    const d = await newDevice('offline');
    expect(await registry.devices.markOffline(d.assetId, 500)).toBeUndefined();
    await registry.devices.markOnline(d.assetId, 1000, { productKey, deviceKey: 'offline', activated: false });
    expect(await registry.devices.markOffline(d.assetId, 1500)).toMatchObject({ status: 'offline', lastOfflineTime: 1500 });
  });
});
