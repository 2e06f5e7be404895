import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { connectDevice, ConnectRefused, newTenant, provision, startHub, type ProvisionedProduct, type RunningHub } from '../src/index.js';

describe('dynamic activation (securemode 3) and GZIP payloads', () => {
  let h: RunningHub;
  let dynamic: ProvisionedProduct;
  let fixed: ProvisionedProduct;

  beforeAll(async () => {
    h = await startHub();
    const t = await newTenant(h, 'activation');
    dynamic = await provision(t.client, t.orgId, {
      productType: 'Device',
      deviceKeys: ['dyn-1', 'dyn-2'],
      product: { dynamicActivateEnabled: true },
    });
    fixed = await provision(t.client, t.orgId, { productType: 'Device', deviceKeys: ['fixed-1', 'gz'] });
  });
  afterAll(async () => {
    await h?.close();
  });

  const refused = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => {
        if (e instanceof ConnectRefused) return e.returnCode;
        throw e;
      },
    );

  it('pushes the deviceSecret unsolicited after a productSecret login, until the device replies; then refuses securemode 3', async () => {
    const d = dynamic.devices[0]!;
    const withProductSecret = { productKey: d.productKey, deviceKey: d.deviceKey, secret: dynamic.productSecret };
    const conn = await connectDevice(h.mqttUrl, withProductSecret, { secureMode: 3 });
    // never subscribed: the hub pushes it anyway (docs/ENOS-PROTOCOL.md §2.5)
    const info = await conn.next((t) => t === topics.activateInfo(d.productKey, d.deviceKey));
    expect(info.json).toMatchObject({
      method: 'thing.activate.info',
      params: { assetId: d.assetId, productKey: d.productKey, deviceKey: d.deviceKey, deviceSecret: d.secret },
    });
    await conn.client.publishAsync(
      topics.reply(topics.activateInfo(d.productKey, d.deviceKey)),
      JSON.stringify({ id: info.json.id, code: 200, data: {} }),
      { qos: 1 },
    );
    await conn.end();
    // the device now logs in with the secret it received
    const normal = await connectDevice(h.mqttUrl, { ...d, secret: info.json.params.deviceSecret });
    await normal.end();
    // and securemode 3 is refused once activated (the secure default, §2.5/§12)
    expect(await refused(connectDevice(h.mqttUrl, withProductSecret, { secureMode: 3 }))).toBe(5);
  });

  it('refuses securemode 3 when the product does not allow dynamic activation, and a wrong product secret', async () => {
    const f = fixed.devices[0]!;
    expect(await refused(connectDevice(h.mqttUrl, { ...f, secret: fixed.productSecret }, { secureMode: 3 }))).toBe(5);
    const d = dynamic.devices[1]!;
    expect(await refused(connectDevice(h.mqttUrl, { ...d, secret: 'not-the-product-secret' }, { secureMode: 3 }))).toBe(4);
    expect(await refused(connectDevice(h.mqttUrl, d, { secureMode: 4 }))).toBe(5);
  });

  it('reads and answers GZIP payloads when the ClientId says compress=GZIP (§2.4)', async () => {
    const g = fixed.devices[1]!;
    const conn = await connectDevice(h.mqttUrl, g, { extraInfo: '{ip=10.0.0.9,version=enos-mqtt-2.3.0,compress=GZIP}' });
    const topic = topics.measurepointPost(g.productKey, g.deviceKey);
    const reply = conn.next((t) => t === topics.reply(topic));
    await conn.client.publishAsync(
      topic,
      gzipSync(JSON.stringify({ id: '7', version: '1.1', method: 'thing.measurepoint.post', params: { measurepoints: { temp: 21.5 } } })),
      { qos: 1 },
    );
    const r = await reply;
    expect(JSON.parse(gunzipSync(r.payload).toString('utf8'))).toMatchObject({ id: '7', code: 200 });
    expect((await h.hub.telemetry.latest(g.assetId))?.measurepoints['temp']?.value).toBe(21.5);
    // a payload that is not GZIP on a GZIP connection is a format error, answered compressed
    const bad = conn.next((t) => t === topics.reply(topic));
    await conn.client.publishAsync(topic, JSON.stringify({ id: '8', method: 'thing.measurepoint.post', params: {} }), { qos: 1 });
    expect(JSON.parse(gunzipSync((await bad).payload).toString('utf8'))).toMatchObject({ id: '8', code: 1220 });
    await conn.end();
  });

  it('refuses compression it cannot decode (LZ4) at CONNECT', async () => {
    expect(await refused(connectDevice(h.mqttUrl, fixed.devices[1]!, { extraInfo: '{compress=LZ4}' }))).toBe(5);
  });
});
