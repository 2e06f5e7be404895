import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Edge, loadEdgeConfig, modbusSouthbound, startConfigCenter } from '@edgehub/edge';
import { edgeTestbed } from '../src/edge-testbed.js';

/** The other two ways an edge gets its sub-devices: over MQTT, and statically through the config center. */
describe('edge registration over MQTT and static binding', () => {
  const bed = edgeTestbed('edge-reg');

  it('creates missing sub-devices with thing.device.register and adds them with a signed thing.topo.add', async () => {
    const site = await bed.site({ extra: { registration: 'mqtt' } });
    const edge = await Edge.start(await loadEdgeConfig(site.configFile), modbusSouthbound, pino({ level: 'silent' }));
    bed.keep(edge);
    await new Promise<void>((resolve) => edge.once('up', () => resolve()));
    const devs = await bed.subDevices(site);
    expect(devs.map((d) => d.deviceKey).sort()).toEqual(['fan-1', 'inverter-1', 'storage-1']);
    expect(new Set(devs.map((d) => d.gatewayAssetId))).toEqual(new Set([site.gateway.devices[0]!.assetId]));
    expect(edge.status().subDevices.every((s) => s.loggedIn)).toBe(true);
  });

  it('binds a sub-device created beforehand through the config center, and refuses one the hub does not know', async () => {
    const site = await bed.site({ extra: { registration: 'static' } });
    // static: the three configured devices are created in the console first
    await bed.tenant.client.ok(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'batchCreate', orgId: bed.tenant.orgId },
      {
        deviceList: ['inverter-1', 'fan-1', 'storage-1', 'fan-2'].map((deviceKey) => ({
          productKey: site.subProductKey,
          deviceKey,
          timezone: '+00:00',
          deviceName: { defaultValue: deviceKey },
        })),
      },
    );
    const edge = await Edge.start(await loadEdgeConfig(site.configFile), modbusSouthbound, pino({ level: 'silent' }));
    bed.keep(edge);
    await new Promise<void>((resolve) => edge.once('up', () => resolve()));
    const center = await startConfigCenter(edge, { host: '127.0.0.1', port: 0 });
    const auth = { authorization: `Bearer ${site.gateway.devices[0]!.secret}` };
    try {
      const transport = { kind: 'tcp', host: '127.0.0.1', port: site.simulators.fan.port };
      const bound = await fetch(`${center.url}/subdevices`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ deviceKey: 'fan-2', model: 'fan', transport, pollIntervalMs: 200 }),
      });
      expect(bound.status).toBe(201);
      const reading = new Promise<void>((resolve) => edge.on('reading', (r) => r.deviceId === 'fan-2' && resolve()));
      await reading;
      expect((await bed.subDevices(site)).find((d) => d.deviceKey === 'fan-2')?.gatewayAssetId).toBe(site.gateway.devices[0]!.assetId);
      const unknown = await fetch(`${center.url}/subdevices`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ deviceKey: 'never-created', model: 'fan', transport }),
      });
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { error: string }).error).toMatch(/not found in the hub/);
      expect((await fetch(`${center.url}/subdevices/fan-2`, { method: 'DELETE', headers: auth })).status).toBe(204);
      expect(edge.status().subDevices.some((s) => s.deviceKey === 'fan-2')).toBe(false);
    } finally {
      await center.app.close();
    }
  });
});
