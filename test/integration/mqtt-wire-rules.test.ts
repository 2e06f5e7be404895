import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import {
  connectDevice,
  connectFrame,
  connectPassword,
  encode,
  newTenant,
  provision,
  publishFrame,
  rawConnect,
  RawSession,
  startHub,
  wentOffline,
  wentOnline,
  type ProvisionedDevice,
  type RunningHub,
} from '../src/index.js';

/**
 * What the broker does with strings, QoS 2 and wills on the wire (MQTT 3.1.1 §1.5.3;
 * docs/PROTOCOL.md §5): malformed strings and QoS 2 publishes end the connection, QoS 2
 * subscriptions are granted QoS 1, and a will is never routed as if the device had published it.
 */
describe('MQTT wire rules: UTF-8 strings, QoS 2, wills', () => {
  let h: RunningHub;
  let meter: ProvisionedDevice;
  /** Devices of their own for the tests that check stored data, so each test stands alone. */
  let qos2Meter: ProvisionedDevice;
  let willMeter: ProvisionedDevice;

  const closedTotal = async (reason: string) => {
    const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
    return Number(new RegExp(`edgehub_mqtt_connections_closed_total\\{reason="${reason}",listener="tcp"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  /** A raw, authenticated connection of the meter. */
  const login = async (d = meter) => {
    const ts = String(Date.now());
    const s = await RawSession.open(h.mqttPort);
    s.write(
      connectFrame({
        clientId: `raw|securemode=2,signmethod=sha256,timestamp=${ts}|`,
        clean: true,
        username: `${d.deviceKey}&${d.productKey}`,
        password: Buffer.from(connectPassword('raw', d, ts, 'sha256')),
      }),
    );
    expect(await s.next((p) => p.cmd === 'connack')).toMatchObject({ returnCode: 0 });
    return s;
  };
  const post = (id: string, temp: number) =>
    JSON.stringify({ id, version: '1.0', method: 'thing.measurepoint.post', params: { measurepoints: { temp } } });
  /** The meter is still served: a round trip on a fresh connection. */
  const stillServed = async (device = meter) => {
    const d = await connectDevice(h.mqttUrl, device);
    const r = await d.request(topics.tslTemplateGet(device.productKey, device.deviceKey), 'thing.tsltemplate.get', {});
    expect(r.code).toBe(200);
    await d.end();
  };

  beforeAll(async () => {
    h = await startHub();
    const t = await newTenant(h, 'wire');
    [meter, qos2Meter, willMeter] = (await provision(t.client, t.orgId, { productType: 'Device', deviceKeys: ['meter', 'qos2', 'will'] }))
      .devices as [ProvisionedDevice, ProvisionedDevice, ProvisionedDevice];
  });
  afterAll(async () => {
    await h?.close();
  });

  it('closes the connection on a PUBLISH topic with U+0000 or invalid UTF-8, without a reply or stored data', async () => {
    const before = await closedTotal('invalid_string');
    const postTopic = topics.measurepointPost(meter.productKey, meter.deviceKey);
    for (const topic of [Buffer.from(`${postTopic}\u0000`, 'utf8'), Buffer.concat([Buffer.from(postTopic), Buffer.from([0xff])])]) {
      const s = await login();
      s.write(publishFrame(topic, post('bad', 1), 1));
      await s.closed;
      expect(s.received().filter((p) => p.cmd !== 'connack')).toEqual([]);
    }
    expect(await closedTotal('invalid_string')).toBe(before + 2);
    expect(await h.hub.telemetry.latest(meter.assetId)).toBeUndefined();
    await stillServed();
  });

  it('closes the connection on a ClientId with byte 0xF5, before any CONNACK, even when the signature matches its decoded text', async () => {
    const ts = '1';
    const clientId = Buffer.concat([
      Buffer.from('meter'),
      Buffer.from([0xf5]),
      Buffer.from(`|securemode=2,signmethod=sha256,timestamp=${ts}|`),
    ]);
    // What a lenient decoder reads: U+FFFD in place of the byte.
    const password = Buffer.from(connectPassword('meter\ufffd', meter, ts, 'sha256'));
    expect(
      await rawConnect(h.mqttPort, { clientId, clean: true, username: `${meter.deviceKey}&${meter.productKey}`, password }),
    ).toBeUndefined();
  });

  it('closes the connection on a topic filter with U+0000', async () => {
    const s = await login();
    s.write(
      encode({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: `/sys/${meter.productKey}/${meter.deviceKey}/\u0000/#`, qos: 0 }],
      }),
    );
    await s.closed;
    expect(s.received().map((p) => p.cmd)).toEqual([]);
  });

  it('grants QoS 1 to a SUBSCRIBE asking QoS 2', async () => {
    const s = await login();
    s.write(
      encode({
        cmd: 'subscribe',
        messageId: 7,
        subscriptions: [
          { topic: `/sys/${meter.productKey}/${meter.deviceKey}/thing/service/#`, qos: 2 },
          { topic: `/sys/${meter.productKey}/${meter.deviceKey}/thing/measurepoint/set`, qos: 0 },
        ],
      }),
    );
    expect(await s.next((p) => p.cmd === 'suback')).toMatchObject({ messageId: 7, granted: [1, 0] });
    s.end();
  });

  it('closes the connection on a PUBLISH at QoS 2 and stores nothing of it', async () => {
    const before = await closedTotal('qos2_publish');
    const s = await login(qos2Meter);
    s.write(
      encode({
        cmd: 'publish',
        topic: topics.measurepointPost(qos2Meter.productKey, qos2Meter.deviceKey),
        qos: 2,
        messageId: 3,
        payload: post('q2', 2),
      }),
    );
    await s.closed;
    expect(s.received().map((p) => p.cmd)).toEqual([]);
    expect(await closedTotal('qos2_publish')).toBe(before + 1);
    await stillServed(qos2Meter);
    expect(await h.hub.telemetry.latest(qos2Meter.assetId)).toBeUndefined();
  });

  it("never routes a device's will as a publish of the device: a will on its own measurepoint topic stores nothing", async () => {
    const online = wentOnline(h, willMeter.assetId);
    const d = await connectDevice(h.mqttUrl, willMeter, {
      mqtt: {
        will: {
          topic: topics.measurepointPost(willMeter.productKey, willMeter.deviceKey),
          payload: Buffer.from(post('will', 99)),
          qos: 1,
          retain: false,
        },
      },
    });
    await online;
    const offline = wentOffline(h, willMeter.assetId);
    // The link drops without DISCONNECT: the case in which MQTT publishes a will.
    d.client.stream.destroy();
    await offline;
    await stillServed(willMeter);
    expect(await h.hub.telemetry.latest(willMeter.assetId)).toBeUndefined();
  });
});
