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
 * node is busy with). The later write must not take a connected device offline. Nor may a
 * survivor's liveness sweep, writing offline for the devices of a node that died, take offline one
 * that has logged in elsewhere since the sweep began.
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

  const newDevice = (deviceKey: string) =>
    registry.devices.create('org1', { productKey, deviceKey, deviceName: { defaultValue: deviceKey }, timezone: '+08:00' }, 'test');
  /** A lifecycle of this node, its clock fixed at `now`, and the offlines it announces. */
  const lifecycleAt = (now: number) => {
    const lifecycle = new DeviceLifecycle(registry, new SessionRegistry(), pino({ level: 'silent' }), () => now);
    const announced: string[] = [];
    lifecycle.on('offline', () => announced.push('offline'));
    return { lifecycle, announced };
  };

  /** A device connected through a lifecycle of this node (its clock fixed at `now`), online written. */
  const connectedHere = async (deviceKey: string, now: number) => {
    const d = await newDevice(deviceKey);
    const { lifecycle, announced } = lifecycleAt(now);
    const session: DeviceSession = {
      client: { id: deviceKey } as Client,
      device: { assetId: d.assetId, orgId: 'org1', productKey, deviceKey, productType: 'Device' },
      listener: 'tcp',
      mutualTls: false,
      compression: 'none',
      secureMode: '2',
      connectedAt: now,
      subDevices: new Map(),
    };
    lifecycle.connected(session, false);
    await lifecycle.settled();
    return { assetId: d.assetId, lifecycle, session, announced };
  };

  it("a node's late offline leaves a device another node has logged in since online, and announces nothing", async () => {
    const { assetId, lifecycle, session, announced } = await connectedHere('moved', 1000);
    // The device moves: the other node writes its login…
    await otherNode.devices.markOnline(assetId, 2000);
    // …before this node's offline for the session it lost.
    lifecycle.disconnected(session);
    await lifecycle.settled();
    expect(await registry.devices.find({ assetId })).toMatchObject({ status: 'online', lastOnlineTime: 2000 });
    expect(announced).toEqual([]);
  });

  it('still takes a device offline when no other login was written, and announces it', async () => {
    const { assetId, lifecycle, session, announced } = await connectedHere('left', 3000);
    lifecycle.disconnected(session);
    await lifecycle.settled();
    expect(await otherNode.devices.find({ assetId })).toMatchObject({ status: 'offline', lastOfflineTime: 3000 });
    expect(announced).toEqual(['offline']);
  });

  /** A device whose session a node that has since died held (its login written at `loginAt`), and a survivor's lifecycle. */
  const heldByDeadNode = async (deviceKey: string, loginAt: number) => {
    const d = await newDevice(deviceKey);
    await otherNode.devices.markOnline(d.assetId, loginAt);
    const { lifecycle: survivor, announced } = lifecycleAt(9000);
    const identity = { assetId: d.assetId, orgId: 'org1', productKey, deviceKey, productType: 'Device' as const };
    return { assetId: d.assetId, survivor, identity, announced };
  };

  it("a liveness sweep leaves online a dead node's device that logged in elsewhere after the sweep began", async () => {
    const { assetId, survivor, identity, announced } = await heldByDeadNode('swept-moved', 1000);
    // The sweep begins at 5000; the device logs in at another node at 6000, before the sweep writes.
    await otherNode.devices.markOnline(assetId, 6000);
    await survivor.orphaned(identity, 5000);
    expect(await registry.devices.find({ assetId })).toMatchObject({ status: 'online', lastOnlineTime: 6000 });
    expect(announced).toEqual([]);
  });

  it("a liveness sweep takes a dead node's device offline when it has not logged in since, and announces it", async () => {
    const { assetId, survivor, identity, announced } = await heldByDeadNode('swept-gone', 1000);
    await survivor.orphaned(identity, 5000);
    expect(await otherNode.devices.find({ assetId })).toMatchObject({ status: 'offline', lastOfflineTime: 9000 });
    expect(announced).toEqual(['offline']);
  });
});
