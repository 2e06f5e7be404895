import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Edge, loadEdgeConfig, modbusSouthbound, startConfigCenter } from '@edgehub/edge';
import { edgeSite, newTenant, startHub, type EdgeSite, type RunningHub } from '../src/index.js';

type Latest = { deviceKey: string; measurepoints: Record<string, { value: unknown; time: number }> }[];

/** The seed scenario from the edge's side: dynamic registration, Modbus data up, a set command down. */
describe('edge runtime with the demo topology', () => {
  let h: RunningHub;
  let t: Awaited<ReturnType<typeof newTenant>>;
  let site: EdgeSite;
  let edge: Edge;
  let center: Awaited<ReturnType<typeof startConfigCenter>>;
  const POLL = 200;

  beforeAll(async () => {
    h = await startHub();
    t = await newTenant(h, 'edge-site');
    site = await edgeSite(t.client, t, { baseUrl: h.baseUrl, mqttUrl: h.mqttUrl }, { pollIntervalMs: POLL });
  });
  let starting: Promise<Edge> | undefined;
  /** The edge, started by whichever test needs it first: every test also runs alone. */
  const runningEdge = (): Promise<Edge> =>
    (starting ??= loadEdgeConfig(site.configFile).then(
      async (config) => (edge = await Edge.start(config, modbusSouthbound, pino({ level: 'silent' }))),
    ));
  /** The edge once every sub-device has delivered a reading: logged in at the hub, its field link up. */
  async function readyEdge(): Promise<Edge> {
    const e = await runningEdge();
    const waiting = new Set(['fan-1', 'inverter-1', 'storage-1']);
    await new Promise<void>((resolve) => {
      const onReading = (r: { deviceId: string }) => {
        waiting.delete(r.deviceId);
        if (waiting.size > 0 || !e.status().subDevices.every((s) => s.loggedIn)) return;
        e.off('reading', onReading);
        resolve();
      };
      e.on('reading', onReading);
    });
    return e;
  }

  afterAll(async () => {
    await center?.app.close();
    await edge?.stop();
    await site?.stop();
    await h?.close();
    if (site) await rm(site.dir, { recursive: true, force: true });
  });

  it('registers the three sub-devices dynamically and their data reaches queryLatest within two poll intervals', async () => {
    // Watch the org's stream: every sub-device's first measurepoints, as an application would.
    const seen = new Map<string, number>();
    const allThree = new Promise<void>((resolve) => {
      void h.hub.stream.subscribe(`org/${t.orgId}/#`, (e) => {
        if (e.type !== 'measurepoints' || seen.has(e.deviceKey)) return;
        seen.set(e.deviceKey, Date.now());
        if (seen.size === 3) resolve();
      });
    });
    const started = Date.now();
    await runningEdge();
    const subs = await t.client.ok<{ deviceKey: string; gatewayAssetId: string }[]>(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'search', orgId: t.orgId },
      { expression: `productKey = '${site.subProductKey}'` },
    );
    expect(subs.data.map((d) => d.deviceKey).sort()).toEqual(['fan-1', 'inverter-1', 'storage-1']);
    expect(new Set(subs.data.map((d) => d.gatewayAssetId))).toEqual(new Set([site.gateway.devices[0]!.assetId]));

    const firstReading = new Promise<number>((resolve) => edge.once('reading', () => resolve(Date.now())));
    const firstAt = await firstReading;
    await allThree;
    // all three arrived within two poll intervals of the edge's first reading (batching adds ≤ 200 ms)
    for (const at of seen.values()) expect(at - firstAt).toBeLessThanOrEqual(2 * POLL + 200);
    expect(Date.now() - started).toBeLessThan(30_000);

    const latest = await t.client.ok<Latest>(
      'POST',
      '/connect-service/v2.1/measurepoints',
      { action: 'queryLatest', orgId: t.orgId },
      { devices: ['inverter-1', 'fan-1', 'storage-1'].map((deviceKey) => ({ productKey: site.subProductKey, deviceKey })) },
    );
    const byKey = new Map(latest.data.map((d) => [d.deviceKey, d.measurepoints]));
    expect(Object.keys(byKey.get('fan-1') ?? {})).toEqual(expect.arrayContaining(['speed', 'speedSetpoint', 'running']));
    expect(Object.keys(byKey.get('inverter-1') ?? {}).length).toBeGreaterThan(2);
    expect(Object.keys(byKey.get('storage-1') ?? {}).length).toBeGreaterThan(2);
    expect(edge.status().subDevices.every((s) => s.loggedIn && s.southbound === 'connected')).toBe(true);
  });

  it('turns a setMeasurepoint from the hub REST into a Modbus write and answers with the result', async () => {
    await readyEdge();
    const r = await t.client.call(
      'POST',
      '/connect-service/v2.1/commands',
      {
        action: 'setMeasurepoint',
        orgId: t.orgId,
        productKey: site.subProductKey,
        deviceKey: 'fan-1',
        measurepointId: 'speedSetpoint',
        timeout: '10',
      },
      { value: 900 },
    );
    expect(r.code).toBe(0);
    expect(site.simulators.fan.state.value('speedSetpoint')).toBe(900);
    // a value the register cannot hold is refused by the edge, and the REST caller hears why
    const bad = await t.client.call(
      'POST',
      '/connect-service/v2.1/commands',
      {
        action: 'setMeasurepoint',
        orgId: t.orgId,
        productKey: site.subProductKey,
        deviceKey: 'fan-1',
        measurepointId: 'speedSetpoint',
        timeout: '10',
      },
      { value: 1e9 },
    );
    expect(bad.code).toBe(11906);
    expect(site.simulators.fan.state.value('speedSetpoint')).toBe(900);
  });

  it('reports a southbound device that goes away through connection state, while the others keep flowing', async () => {
    await readyEdge();
    const down = new Promise<void>((resolve) =>
      edge.on('state', (st) => st.deviceId === 'storage-1' && st.state !== 'connected' && resolve()),
    );
    await site.simulators.storage.stop();
    await down;
    // the fan and the inverter keep reading, and the hub learns the storage unit is unreachable
    const gwAsset = site.gateway.devices[0]!.assetId;
    const reportedDown = async () => {
      const nodes =
        ((await h.hub.telemetry.latest(gwAsset))?.connectionState?.state as { nodes?: { nodeId: string; state: number }[] } | undefined)
          ?.nodes ?? [];
      return nodes.some((n) => n.nodeId === 'storage-1' && n.state === 2);
    };
    let fanReadings = 0;
    await new Promise<void>((resolve, reject) => {
      const onReading = (r: { deviceId: string }) => {
        if (r.deviceId !== 'fan-1') return;
        fanReadings++;
        void reportedDown().then((yes) => {
          if (yes && fanReadings >= 2) {
            edge.off('reading', onReading);
            resolve();
          } else if (fanReadings > 50) reject(new Error('connection state never reported storage-1 down'));
        });
      };
      edge.on('reading', onReading);
    });
    expect(edge.status().subDevices.find((s) => s.deviceKey === 'storage-1')?.southbound).not.toBe('connected');

    // The hub REST shows each node's field link: the full report after login with the partial
    // report about storage-1 applied on top.
    const gwRef = { productKey: site.gateway.productKey, deviceKey: site.gateway.devices[0]!.deviceKey };
    const states = await t.client.ok<{
      deviceKey: string;
      nodes: { nodeId: string; state: number; stateName: string; assetId?: string }[];
    }>('GET', '/connect-service/v2.1/connection-states', { action: 'get', orgId: t.orgId, ...gwRef });
    const byNode = new Map(states.data.nodes.map((n) => [n.nodeId, n]));
    expect([...byNode.keys()].sort()).toEqual(['fan-1', 'inverter-1', 'storage-1']);
    expect(byNode.get('storage-1')).toMatchObject({ state: 2, stateName: 'disconnected' });
    expect(byNode.get('fan-1')).toMatchObject({ state: 1, stateName: 'connected' });
    expect(byNode.get('fan-1')?.assetId).toBeTruthy();
    // another organization cannot read them
    const other = await newTenant(h, 'edge-site-other');
    const foreign = await other.client.call('GET', '/connect-service/v2.1/connection-states', {
      action: 'get',
      orgId: other.orgId,
      ...gwRef,
    });
    expect(foreign.code).toBe(11404);
  });

  it('lists sub-devices and status on the local config center', async () => {
    // Connected to the hub with its sub-devices registered; whether their field links are up does not matter here.
    const e = await runningEdge();
    if (!e.status().uplink.connected) await once(e, 'up');
    center = await startConfigCenter(edge, { host: '127.0.0.1', port: 0 });
    // the token defaults to the gateway's own device secret
    const auth = { authorization: `Bearer ${site.gateway.devices[0]!.secret}` };
    const status = (await (await fetch(`${center.url}/status`, { headers: auth })).json()) as {
      uplink: { connected: boolean };
      subDevices: unknown[];
    };
    expect(status.uplink.connected).toBe(true);
    expect(status.subDevices).toHaveLength(3);
    expect((await fetch(`${center.url}/subdevices/nobody`, { method: 'DELETE', headers: auth })).status).toBe(404);
    expect(
      (
        await fetch(`${center.url}/subdevices`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ deviceKey: 'x' }),
        })
      ).status,
    ).toBe(400);
  });
});
