import type { Client } from 'aedes';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLifecycle } from '../src/broker/lifecycle.js';
import { openRegistry, type Registry } from '../src/registry/registry.js';
import { SessionRegistry, type DeviceSession } from '../src/sessions/sessions.js';
import { openRegistryFixture, type RegistryFixture } from './support/registry-fixture.js';

/**
 * Cluster nodes share one registry and each writes the status of the sessions it holds. A device
 * that leaves a draining node logs in at another; the node it left may write its `offline` later
 * than the new node wrote `online` (its write waits for a status batch, and for whatever else that
 * node is busy with). The later write must not take a connected device offline.
 */
describe('device lifecycle over a registry another node writes too', () => {
  let fixture: RegistryFixture;
  let registry: Registry;
  /** The other node's view of the same store (cluster mode: no record caches). */
  let otherNode: Registry;
  let productKey: string;

  beforeAll(async () => {
    fixture = await openRegistryFixture('edgehub-shared-lifecycle-');
    ({ registry, productKey } = fixture);
    otherNode = await openRegistry(fixture.store, undefined, { cacheRecords: false });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  const sessionOf = (assetId: string, deviceKey: string): DeviceSession => ({
    client: { id: deviceKey } as Client,
    device: { assetId, orgId: 'org1', productKey, deviceKey, productType: 'Device' },
    listener: 'tcp',
    mutualTls: false,
    compression: 'none',
    secureMode: '2',
    connectedAt: 1000,
    subDevices: new Map(),
  });

  it("a node's late offline leaves a device another node has logged in since online, and announces nothing", async () => {
    const d = await registry.devices.create(
      'org1',
      { productKey, deviceKey: 'moved', deviceName: { defaultValue: 'm' }, timezone: '+08:00' },
      'test',
    );
    const lifecycle = new DeviceLifecycle(registry, new SessionRegistry(), pino({ level: 'silent' }), () => 1000);
    const announced: string[] = [];
    lifecycle.on('offline', () => announced.push('offline'));
    const session = sessionOf(d.assetId, 'moved');
    lifecycle.connected(session, false);
    await lifecycle.settled();
    // The device moves: the other node writes its login…
    await otherNode.devices.markOnline(d.assetId, 2000);
    // …before this node's offline for the session it lost.
    lifecycle.disconnected(session);
    await lifecycle.settled();
    expect(await registry.devices.find({ assetId: d.assetId })).toMatchObject({ status: 'online', lastOnlineTime: 2000 });
    expect(announced).toEqual([]);
  });

  it('still takes a device offline when no other login was written, and announces it', async () => {
    const d = await registry.devices.create(
      'org1',
      { productKey, deviceKey: 'left', deviceName: { defaultValue: 'l' }, timezone: '+08:00' },
      'test',
    );
    const lifecycle = new DeviceLifecycle(registry, new SessionRegistry(), pino({ level: 'silent' }), () => 3000);
    const announced: string[] = [];
    lifecycle.on('offline', () => announced.push('offline'));
    const session = sessionOf(d.assetId, 'left');
    lifecycle.connected(session, false);
    await lifecycle.settled();
    lifecycle.disconnected(session);
    await lifecycle.settled();
    expect(await otherNode.devices.find({ assetId: d.assetId })).toMatchObject({ status: 'offline', lastOfflineTime: 3000 });
    expect(announced).toEqual(['offline']);
  });
});
