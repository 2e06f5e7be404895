import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import {
  connectDevice,
  newTenant,
  provision,
  startHub,
  subDeviceSign,
  type ProvisionedProduct,
  type RunningHub,
  type TestDevice,
} from '../src/index.js';

/** The topic ACL of docs/ENOS-PROTOCOL.md §4.3 as a matrix: who may publish and subscribe where. */
describe('MQTT topic ACL', () => {
  let h: RunningHub;
  let x: { devices: ProvisionedProduct; gateways: ProvisionedProduct; subs: ProvisionedProduct };
  let y: { devices: ProvisionedProduct };
  let a: TestDevice;
  let gw: TestDevice;
  let yDev: TestDevice;

  beforeAll(async () => {
    h = await startHub();
    const orgX = await newTenant(h, 'org-x');
    const orgY = await newTenant(h, 'org-y');
    x = {
      devices: await provision(orgX.client, orgX.orgId, { productType: 'Device', deviceKeys: ['a', 'b'] }),
      gateways: await provision(orgX.client, orgX.orgId, { productType: 'Gateway', deviceKeys: ['gw'] }),
      subs: await provision(orgX.client, orgX.orgId, { productType: 'Device', deviceKeys: ['sub-in', 'sub-out'] }),
    };
    y = { devices: await provision(orgY.client, orgY.orgId, { productType: 'Device', deviceKeys: ['y1'] }) };
    // both subs in the gateway's topology; only sub-in logs in
    await orgX.client.ok(
      'POST',
      '/connect-service/v2.1/device-topos',
      { action: 'addSubDevice', orgId: orgX.orgId },
      {
        gateway: { assetId: x.gateways.devices[0]!.assetId },
        subDevices: x.subs.devices.map((s) => ({ assetId: s.assetId })),
      },
    );
    a = await connectDevice(h.mqttUrl, x.devices.devices[0]!);
    gw = await connectDevice(h.mqttUrl, x.gateways.devices[0]!);
    yDev = await connectDevice(h.mqttUrl, y.devices.devices[0]!);
    const g = x.gateways.devices[0]!;
    const sub = x.subs.devices[0]!;
    const login = await gw.request(topics.combineLogin(g.productKey, g.deviceKey), 'combine.login', {
      productKey: sub.productKey,
      deviceKey: sub.deviceKey,
      clientId: 'c',
      timestamp: 1,
      signMethod: 'sha256',
      sign: subDeviceSign('c', sub, 1),
    });
    expect(login.code).toBe(200);
  });
  afterAll(async () => {
    await Promise.all([a?.end(), gw?.end(), yDev?.end()]);
    await h?.close();
  });

  const post = (d: TestDevice, pk: string, dk: string, value = 1) =>
    d.request(topics.measurepointPost(pk, dk), 'thing.measurepoint.post', { measurepoints: { temp: value } });
  /** The QoS the broker granted in its SUBACK (128 = refused; mqtt.js turns that into an error carrying the packet). */
  const granted = async (d: TestDevice, filter: string): Promise<number> => {
    try {
      return (await d.client.subscribeAsync(filter, { qos: 1 }))[0]!.qos;
    } catch (e) {
      const g = (e as { packet?: { granted?: number[] } }).packet?.granted?.[0];
      if (g === undefined) throw e;
      return g;
    }
  };

  it('device A publishes under its own topics only (1009 elsewhere) and B sees nothing of it', async () => {
    const [da, db] = x.devices.devices as [ProvisionedProduct['devices'][0], ProvisionedProduct['devices'][0]];
    expect((await post(a, da.productKey, da.deviceKey)).code).toBe(200);
    expect((await post(a, db.productKey, db.deviceKey, 99)).code).toBe(1009);
    expect(await h.hub.telemetry.latest(db.assetId)).toBeUndefined();
    // the connection survives the refusal
    expect((await post(a, da.productKey, da.deviceKey, 2)).code).toBe(200);
  });

  it('device A subscribes under its own topics only (SUBACK 0x80 elsewhere, connection kept)', async () => {
    const [da, db] = x.devices.devices as [ProvisionedProduct['devices'][0], ProvisionedProduct['devices'][0]];
    expect(await granted(a, `/sys/${da.productKey}/${da.deviceKey}/thing/service/+`)).toBe(1);
    expect(await granted(a, `/sys/${da.productKey}/${da.deviceKey}/#`)).toBe(1);
    for (const filter of [
      `/sys/${db.productKey}/${db.deviceKey}/#`,
      '#',
      `/sys/+/${da.deviceKey}/#`,
      `/sys/${da.productKey}/+/#`,
      '$SYS/#',
      `/ext/session/${db.productKey}/${db.deviceKey}/#`,
    ]) {
      expect(await granted(a, filter), filter).toBe(128);
    }
    expect(a.client.connected).toBe(true);
  });

  it('a gateway publishes for logged-in sub-devices only (1212 otherwise) and never under /ext/session of another device', async () => {
    const [subIn, subOut] = x.subs.devices as [ProvisionedProduct['devices'][0], ProvisionedProduct['devices'][0]];
    expect((await post(gw, subIn.productKey, subIn.deviceKey)).code).toBe(200);
    expect((await post(gw, subOut.productKey, subOut.deviceKey)).code).toBe(1212);
    const da = x.devices.devices[0]!;
    expect((await post(gw, da.productKey, da.deviceKey)).code).toBe(1212);
    const other = await gw.request(topics.combineLogin(da.productKey, da.deviceKey), 'combine.login', {});
    expect(other.code).toBe(1009);
    // topology sub-devices may be subscribed ahead of login (Node SDK re-subscribes first, §12)
    expect(await granted(gw, `/sys/${subOut.productKey}/${subOut.deviceKey}/thing/measurepoint/post_reply`)).toBe(1);
    expect(await granted(gw, `/sys/${da.productKey}/${da.deviceKey}/thing/measurepoint/post_reply`)).toBe(128);
  });

  it('a device of org Y never reaches a topic of org X, and org X never one of org Y', async () => {
    const da = x.devices.devices[0]!;
    const g = x.gateways.devices[0]!;
    const y1 = y.devices.devices[0]!;
    expect((await post(yDev, da.productKey, da.deviceKey, 7)).code).toBe(1009);
    expect(await granted(yDev, `/sys/${da.productKey}/${da.deviceKey}/#`)).toBe(128);
    expect(await granted(yDev, `/ext/session/${g.productKey}/${g.deviceKey}/#`)).toBe(128);
    expect((await post(gw, y1.productKey, y1.deviceKey)).code).toBe(1212);
    // a gateway cannot pull another org's device into its topology, even knowing its secret
    const ts = 5;
    const topo = await gw.request(topics.topoAdd(g.productKey, g.deviceKey), 'thing.topo.add', [
      {
        productKey: y1.productKey,
        deviceKey: y1.deviceKey,
        clientId: 'c',
        timestamp: ts,
        signMethod: 'sha256',
        sign: subDeviceSign('c', y1, ts),
      },
    ]);
    expect(topo.code).toBe(1255);
    const login = await gw.request(topics.combineLogin(g.productKey, g.deviceKey), 'combine.login', {
      productKey: y1.productKey,
      deviceKey: y1.deviceKey,
      clientId: 'c',
      timestamp: ts,
      signMethod: 'sha256',
      sign: subDeviceSign('c', y1, ts),
    });
    expect(login.code).toBe(705);
    expect((await h.hub.telemetry.latest(da.assetId))?.measurepoints['temp']?.value).not.toBe(7);
  });

  it('delivers nothing a device publishes to any other subscriber', async () => {
    const da = x.devices.devices[0]!;
    const seen: string[] = [];
    yDev.client.on('message', (t) => seen.push(t));
    gw.client.on('message', (t) => seen.push(t));
    await a.client.publishAsync('foo/bar', 'x', { qos: 1 });
    await a.client.publishAsync(
      `/sys/${da.productKey}/${da.deviceKey}/thing/measurepoint/post`,
      JSON.stringify({ id: 'z', method: 'thing.measurepoint.post', params: { measurepoints: { temp: 3 } } }),
      { qos: 1 },
    );
    // a round trip on each observer's own connection orders everything before it
    await post(gw, x.subs.devices[0]!.productKey, x.subs.devices[0]!.deviceKey);
    await post(yDev, y.devices.devices[0]!.productKey, y.devices.devices[0]!.deviceKey);
    expect(seen.filter((t) => !t.endsWith('_reply'))).toEqual([]);
  });
});
