import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';
import {
  connectDevice,
  newTenant,
  provision,
  startHub,
  subDeviceSign,
  wentOffline,
  type ProvisionedProduct,
  type RunningHub,
  type TestDevice,
} from '../src/index.js';

type DeviceView = { status: string; activeTime: number | null };

/** The seed scenario from the gateway's side (docs/ENOS-PROTOCOL.md §5): topology, batch login, data, disconnect. */
describe('gateway with three sub-devices over one MQTT connection', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let gwProduct: ProvisionedProduct;
  let subProduct: ProvisionedProduct;
  const opened: TestDevice[] = [];

  const status = async (productKey: string, deviceKey: string) =>
    (await c.ok<DeviceView>('GET', '/connect-service/v2.1/devices', { action: 'get', orgId, productKey, deviceKey })).data;

  beforeAll(async () => {
    h = await startHub();
    ({ client: c, orgId } = await newTenant(h, 'solar'));
    // One gateway per test (edge-1 … edge-4) with sub-devices of its own: every test runs alone.
    gwProduct = await provision(c, orgId, { productType: 'Gateway', deviceKeys: ['edge-1', 'edge-2', 'edge-3', 'edge-4'] });
    subProduct = await provision(c, orgId, {
      productType: 'Device',
      deviceKeys: ['inverter', 'fan', 'storage', 'inverter-2', 'fan-3', 'storage-3', 'storage-4'],
      product: {
        thingModel: {
          measurepoints: { power: { dataType: 'DOUBLE', hasQuality: true }, speed: { dataType: 'INT' }, soc: { dataType: 'FLOAT' } },
        },
      },
    });
  });
  afterAll(async () => {
    await Promise.all(opened.map((d) => d.end()));
    await h?.close();
  });

  const gatewayKeys = (deviceKey: string) => gwProduct.devices.find((d) => d.deviceKey === deviceKey)!;
  const subDevices = (...deviceKeys: string[]) => deviceKeys.map((k) => subProduct.devices.find((d) => d.deviceKey === k)!);

  /** A gateway whose topology (added over REST) holds the sub-devices, connected, optionally with them logged in. */
  async function gatewayWith(gatewayKey: string, subs: ProvisionedProduct['devices'], login: boolean): Promise<TestDevice> {
    const gwKeys = gatewayKeys(gatewayKey);
    await c.ok(
      'POST',
      '/connect-service/v2.1/device-topos',
      { action: 'addSubDevice', orgId },
      { gateway: { assetId: gwKeys.assetId }, subDevices: subs.map((d) => ({ assetId: d.assetId })) },
    );
    const g = await connectDevice(h.mqttUrl, gwKeys);
    opened.push(g);
    if (!login) return g;
    const bts = String(Date.now());
    const r = await g.request(topics.combineLoginBatch(gwKeys.productKey, gwKeys.deviceKey), 'combine.login.batch', {
      clientId: gwKeys.productKey,
      timestamp: bts,
      signMethod: 'sha256',
      subDevices: subs.map((s) => ({ productKey: s.productKey, deviceKey: s.deviceKey, sign: subDeviceSign(gwKeys.productKey, s, bts) })),
    });
    expect(r.code).toBe(200);
    await h.hub.broker.lifecycle.settled();
    for (const s of subs) expect((await status(s.productKey, s.deviceKey)).status).toBe('online');
    return g;
  }

  it('adds its sub-devices, logs them in with one batch login, posts their data and gets every reply by id', async () => {
    const subs = subDevices('inverter', 'fan', 'storage');
    const gwKeys = gatewayKeys('edge-1');
    const gw = await connectDevice(h.mqttUrl, gwKeys);
    opened.push(gw);

    // 1. topology, signed per sub-device (§5.1); numeric timestamp like the Node SDK (§12)
    const ts = Date.now();
    const topo = await gw.request(
      topics.topoAdd(gwKeys.productKey, gwKeys.deviceKey),
      'thing.topo.add',
      subs.map((s) => ({
        productKey: s.productKey,
        deviceKey: s.deviceKey,
        clientId: s.deviceKey,
        timestamp: ts,
        signMethod: 'sha256',
        sign: subDeviceSign(s.deviceKey, s, ts),
      })),
      { id: 'topo-1' },
    );
    expect(topo).toMatchObject({ id: 'topo-1', code: 200 });
    const listed = await gw.request(topics.topoGet(gwKeys.productKey, gwKeys.deviceKey), 'thing.topo.get', {});
    expect((listed.data as { deviceKey: string }[]).map((d) => d.deviceKey).sort()).toEqual(['fan', 'inverter', 'storage']);

    // 2. one batch login, shared clientId = the gateway's productKey (Node SDK, §12)
    const bts = String(Date.now());
    const login = await gw.request(topics.combineLoginBatch(gwKeys.productKey, gwKeys.deviceKey), 'combine.login.batch', {
      clientId: gwKeys.productKey,
      timestamp: bts,
      signMethod: 'sha256',
      subDevices: subs.map((s) => ({
        productKey: s.productKey,
        deviceKey: s.deviceKey,
        sign: subDeviceSign(gwKeys.productKey, s, bts),
        secureMode: 2,
      })),
    });
    expect(login.code).toBe(200);
    const logined = login.data as { loginedSubDevices: { deviceKey: string; assetId: string }[]; failedSubDevices: unknown[] };
    expect(logined.loginedSubDevices.map((d) => d.deviceKey).sort()).toEqual(['fan', 'inverter', 'storage']);
    expect(logined.failedSubDevices).toEqual([]);
    for (const s of subs) expect((await status(s.productKey, s.deviceKey)).status).toBe('online');

    // 3. data on each sub-device's own topics, numeric ids too (echoed with their JSON type)
    const [inverter, fan, storage] = subs as [(typeof subs)[0], (typeof subs)[0], (typeof subs)[0]];
    const r1 = await gw.request(
      topics.measurepointPost(inverter.productKey, inverter.deviceKey),
      'thing.measurepoint.post',
      { measurepoints: { power: { value: 4.2, quality: 9 } }, time: 1_700_000_000_000 },
      { id: 42 },
    );
    expect(r1).toMatchObject({ id: 42, code: 200 });
    const r2 = await gw.request(
      topics.measurepointPost(fan.productKey, fan.deviceKey),
      'thing.measurepoint.post',
      { measurepoints: { speed: 1200 } },
      { id: 'fan-1' },
    );
    expect(r2).toMatchObject({ id: 'fan-1', code: 200 });
    // 4. and through the gateway's post/batch
    const batch = await gw.request(topics.measurepointPostBatch(gwKeys.productKey, gwKeys.deviceKey), 'thing.measurepoint.post.batch', [
      { productKey: storage.productKey, deviceKey: storage.deviceKey, measurepoints: { soc: 0.83 }, time: 1_700_000_000_500 },
      { productKey: inverter.productKey, deviceKey: inverter.deviceKey, measurepoints: { power: 5.1 }, time: 1_700_000_001_000 },
    ]);
    expect(batch.code).toBe(200);

    expect((await h.hub.telemetry.latest(inverter.assetId))?.measurepoints['power']).toMatchObject({ value: 5.1, time: 1_700_000_001_000 });
    expect((await h.hub.telemetry.latest(fan.assetId))?.measurepoints['speed']?.value).toBe(1200);
    expect((await h.hub.telemetry.latest(storage.assetId))?.measurepoints['soc']?.value).toBe(0.83);

    // 5. a downstream message for a sub-device reaches the gateway on the sub-device's topic, unsubscribed
    const serviceTopic = topics.serviceInvoke(fan.productKey, fan.deviceKey, 'fan.setSpeed');
    const arrived = gw.next((t) => t === serviceTopic);
    expect(
      await h.hub.broker.downstream.send(fan.productKey, fan.deviceKey, serviceTopic, {
        id: '1700000000000123',
        version: '1.0',
        method: 'thing.service.fan.setSpeed',
        params: { speed: 900 },
      }),
    ).toBe(true);
    expect((await arrived).json).toMatchObject({ method: 'thing.service.fan.setSpeed', params: { speed: 900 } });
  });

  it('refuses data for a sub-device that is not logged in (1212) and accepts it again after login', async () => {
    const [inverter] = subDevices('inverter-2') as [ProvisionedProduct['devices'][0]];
    const gwKeys = gatewayKeys('edge-2');
    const gw = await gatewayWith('edge-2', [inverter], true);
    expect(
      (
        await gw.request(topics.measurepointPost(inverter.productKey, inverter.deviceKey), 'thing.measurepoint.post', {
          measurepoints: { power: 0 },
        })
      ).code,
    ).toBe(200);
    const out = await gw.request(topics.combineLogout(gwKeys.productKey, gwKeys.deviceKey), 'combine.logout', {
      productKey: inverter.productKey,
      deviceKey: inverter.deviceKey,
    });
    expect(out).toMatchObject({ code: 200, data: { productKey: inverter.productKey, deviceKey: inverter.deviceKey } });
    await h.hub.broker.lifecycle.settled();
    expect((await status(inverter.productKey, inverter.deviceKey)).status).toBe('offline');
    const refused = await gw.request(topics.measurepointPost(inverter.productKey, inverter.deviceKey), 'thing.measurepoint.post', {
      measurepoints: { power: 1 },
    });
    expect(refused.code).toBe(1212);
    const ts = '1600000000000';
    const login = await gw.request(topics.combineLogin(gwKeys.productKey, gwKeys.deviceKey), 'combine.login', {
      productKey: inverter.productKey,
      deviceKey: inverter.deviceKey,
      clientId: inverter.deviceKey,
      timestamp: ts,
      signMethod: 'sha256',
      sign: subDeviceSign(inverter.deviceKey, inverter, ts),
    });
    expect(login).toMatchObject({ code: 200, data: { assetId: inverter.assetId } });
    expect(
      (
        await gw.request(topics.measurepointPost(inverter.productKey, inverter.deviceKey), 'thing.measurepoint.post', {
          measurepoints: { power: 2 },
        })
      ).code,
    ).toBe(200);
  });

  it('turns every sub-device offline when the gateway disconnects', async () => {
    const subs = subDevices('fan-3', 'storage-3');
    const gw = await gatewayWith('edge-3', subs, true);
    expect(h.hub.broker.sessions.gatewayOf(subProduct.productKey, 'fan-3')).toBeDefined();
    const offline = subs.map((s) => wentOffline(h, s.assetId));
    const gwOffline = wentOffline(h, gatewayKeys('edge-3').assetId);
    await gw.end();
    await Promise.all([...offline, gwOffline]);
    for (const s of subs) expect((await status(s.productKey, s.deviceKey)).status).toBe('offline');
    expect(h.hub.broker.sessions.gatewayOf(subProduct.productKey, 'fan-3')).toBeUndefined();
    expect(
      await h.hub.broker.downstream.send(subProduct.productKey, 'fan-3', topics.measurepointSet(subProduct.productKey, 'fan-3'), {}),
    ).toBe(false);
  });

  it('pushes combine.disable to the gateway when an administrator disables a logged-in sub-device', async () => {
    const gwKeys = gatewayKeys('edge-4');
    const [storage] = subDevices('storage-4') as [ProvisionedProduct['devices'][0]];
    const g = await gatewayWith('edge-4', [storage], false);
    try {
      const ts = Date.now();
      const login = await g.request(topics.combineLogin(gwKeys.productKey, gwKeys.deviceKey), 'combine.login', {
        productKey: storage.productKey,
        deviceKey: storage.deviceKey,
        clientId: 'x',
        timestamp: ts,
        signMethod: 'sha256',
        sign: subDeviceSign('x', storage, ts),
      });
      expect(login.code).toBe(200);
      const notice = g.next((t) => t === topics.combineDisable(gwKeys.productKey, gwKeys.deviceKey));
      const offline = wentOffline(h, storage.assetId);
      await c.ok('POST', '/connect-service/v2.1/devices', { action: 'disable', orgId, assetId: storage.assetId });
      expect((await notice).json).toMatchObject({
        method: 'combine.disable',
        params: [{ productKey: storage.productKey, deviceKey: storage.deviceKey }],
      });
      await offline;
      expect(
        (
          await g.request(topics.measurepointPost(storage.productKey, storage.deviceKey), 'thing.measurepoint.post', {
            measurepoints: { soc: 1 },
          })
        ).code,
      ).toBe(1212);
      // and a disabled sub-device cannot log back in (723)
      const again = await g.request(topics.combineLogin(gwKeys.productKey, gwKeys.deviceKey), 'combine.login', {
        productKey: storage.productKey,
        deviceKey: storage.deviceKey,
        clientId: 'x',
        timestamp: ts,
        signMethod: 'sha256',
        sign: subDeviceSign('x', storage, ts),
      });
      expect(again.code).toBe(723);
    } finally {
      await g.end();
    }
  });
});
