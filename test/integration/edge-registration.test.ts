import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Edge, loadEdgeConfig, modbusSouthbound, startConfigCenter } from '@edgehub/edge';
import { edgeSite, newTenant, startHub, type EdgeSite, type RunningHub } from '../src/index.js';

type Dev = { deviceKey: string; gatewayAssetId: string | null };

/** The other two ways an edge gets its sub-devices: over MQTT, and statically through the config center. */
describe('edge registration over MQTT and static binding', () => {
  let h: RunningHub;
  let t: Awaited<ReturnType<typeof newTenant>>;
  const sites: EdgeSite[] = [];
  const edges: Edge[] = [];

  beforeAll(async () => {
    h = await startHub();
    t = await newTenant(h, 'edge-reg');
  });
  afterAll(async () => {
    for (const e of edges) await e.stop();
    for (const s of sites) {
      await s.stop();
      await rm(s.dir, { recursive: true, force: true });
    }
    await h?.close();
  });

  const subDevices = async (site: EdgeSite) =>
    (
      await t.client.ok<Dev[]>(
        'POST',
        '/connect-service/v2.1/devices',
        { action: 'search', orgId: t.orgId },
        { expression: `productKey = '${site.subProductKey}'` },
      )
    ).data;

  it('creates missing sub-devices with thing.device.register and adds them with a signed thing.topo.add', async () => {
    const site = await edgeSite(t.client, t, { baseUrl: h.baseUrl, mqttUrl: h.mqttUrl }, { extra: { registration: 'mqtt' } });
    sites.push(site);
    const edge = await Edge.start(await loadEdgeConfig(site.configFile), modbusSouthbound, pino({ level: 'silent' }));
    edges.push(edge);
    await new Promise<void>((resolve) => edge.once('up', () => resolve()));
    const devs = await subDevices(site);
    expect(devs.map((d) => d.deviceKey).sort()).toEqual(['fan-1', 'inverter-1', 'storage-1']);
    expect(new Set(devs.map((d) => d.gatewayAssetId))).toEqual(new Set([site.gateway.devices[0]!.assetId]));
    expect(edge.status().subDevices.every((s) => s.loggedIn)).toBe(true);
  });

  it('binds a sub-device created beforehand through the config center, and refuses one the hub does not know', async () => {
    const site = await edgeSite(t.client, t, { baseUrl: h.baseUrl, mqttUrl: h.mqttUrl }, { extra: { registration: 'static' } });
    sites.push(site);
    // static: the three configured devices are created in the console first
    await t.client.ok(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'batchCreate', orgId: t.orgId },
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
    edges.push(edge);
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
      expect((await subDevices(site)).find((d) => d.deviceKey === 'fan-2')?.gatewayAssetId).toBe(site.gateway.devices[0]!.assetId);
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
