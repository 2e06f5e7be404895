import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import { topics } from '@edgehub/shared';
import {
  connectFrame,
  connectPassword,
  encode,
  newTenant,
  provision,
  publishFrame,
  RawSession,
  startHub,
  type ProvisionedDevice,
  wentOffline,
  type RunningHub,
} from '../src/index.js';

interface Wire {
  cmd: string;
  qos?: number;
  messageId?: number;
  topic?: string;
  dup?: boolean;
  payload?: Buffer;
}

/**
 * How the hub answers a device's requests on the wire (docs/ARCHITECTURE.md, "How an MQTT message
 * flows"): a clean session's replies are written straight to its connection (hub/src/router/reply-writer.ts),
 * and must look exactly as aedes would have sent them: the request's QoS (lowered to a QoS 0
 * subscription of the reply topic), packet ids from the connection's one counter, the reply before
 * the PUBACK. A persistent session's QoS 1 reply still goes through aedes, which resends it after a
 * reconnect until it is acknowledged.
 */
describe('MQTT replies on the wire', () => {
  let h: RunningHub;
  let meter: ProvisionedDevice;
  let subscriber: ProvisionedDevice;
  let persistent: ProvisionedDevice;

  const post = (id: string, temp: number) =>
    JSON.stringify({ id, version: '1.0', method: 'thing.measurepoint.post', params: { measurepoints: { temp } } });

  /** A raw, authenticated connection, with every packet the hub sends logged in order. */
  const login = async (d: ProvisionedDevice, clean = true, clientId = 'raw') => {
    const ts = String(Date.now());
    const s = await RawSession.open(h.mqttPort);
    const wire: Wire[] = [];
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p) => wire.push(p as unknown as Wire));
    s.socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    s.write(
      connectFrame({
        clientId: `${clientId}|securemode=2,signmethod=sha256,timestamp=${ts}|`,
        clean,
        username: `${d.deviceKey}&${d.productKey}`,
        password: Buffer.from(connectPassword(clientId, d, ts, 'sha256')),
      }),
    );
    expect(await s.next((p) => p.cmd === 'connack')).toMatchObject({ returnCode: 0 });
    return { s, wire };
  };

  beforeAll(async () => {
    h = await startHub();
    const t = await newTenant(h, 'replies');
    [meter, subscriber, persistent] = (
      await provision(t.client, t.orgId, { productType: 'Device', deviceKeys: ['meter', 'sub', 'persist'] })
    ).devices as [ProvisionedDevice, ProvisionedDevice, ProvisionedDevice];
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 40 QoS 1 posts sent at once with one QoS 1 reply each, distinct packet ids, each reply before its PUBACK', async () => {
    const { s, wire } = await login(meter);
    const topic = Buffer.from(topics.measurepointPost(meter.productKey, meter.deviceKey));
    const n = 40;
    s.write(Buffer.concat(Array.from({ length: n }, (_, i) => publishFrame(topic, post(`r${i + 1}`, i), 1, i + 1))));
    for (let i = 1; i <= n; i++) await s.next((p) => p.cmd === 'puback' && p['messageId'] === i);

    const replies = wire.filter((p) => p.cmd === 'publish');
    expect(replies).toHaveLength(n);
    for (const r of replies) {
      expect(r.topic).toBe(`${topics.measurepointPost(meter.productKey, meter.deviceKey)}_reply`);
      expect(r.qos).toBe(1);
      expect(r.dup).toBe(false);
    }
    const ids = replies.map((r) => r.messageId);
    expect(new Set(ids).size).toBe(n);
    expect(ids.every((id) => typeof id === 'number' && id >= 1 && id <= 65535)).toBe(true);
    // Each reply is on the wire before the PUBACK of its request.
    for (let i = 1; i <= n; i++) {
      const reply = wire.findIndex((p) => p.cmd === 'publish' && (JSON.parse(p.payload!.toString()) as { id: string }).id === `r${i}`);
      const puback = wire.findIndex((p) => p.cmd === 'puback' && p.messageId === i);
      expect(reply).toBeGreaterThanOrEqual(0);
      expect(reply).toBeLessThan(puback);
      expect(JSON.parse(wire[reply]!.payload!.toString())).toEqual({ id: `r${i}`, code: 200, data: {} });
    }
    // The device acknowledges every reply; the connection stays served.
    s.write(Buffer.concat(ids.map((messageId) => encode({ cmd: 'puback', messageId }))));
    s.write(publishFrame(topic, post('last', 1), 1, 99));
    await s.next((p) => p.cmd === 'puback' && p['messageId'] === 99);
    expect(wire.filter((p) => p.cmd === 'publish').length).toBe(n + 1);
    s.end();
  });

  it('answers at QoS 0 a device that subscribed to its reply topic at QoS 0, also for QoS 1 posts', async () => {
    const { s, wire } = await login(subscriber);
    const postTopic = topics.measurepointPost(subscriber.productKey, subscriber.deviceKey);
    s.write(encode({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: `${postTopic}_reply`, qos: 0 }] }));
    await s.next((p) => p.cmd === 'suback');
    s.write(publishFrame(Buffer.from(postTopic), post('q0', 1), 1, 5));
    await s.next((p) => p.cmd === 'puback' && p['messageId'] === 5);
    const reply = wire.find((p) => p.cmd === 'publish');
    expect(reply).toMatchObject({ qos: 0, topic: `${postTopic}_reply` });
    s.end();
  });

  it("resends a persistent session's unacknowledged QoS 1 reply after it reconnects", async () => {
    const first = await login(persistent, false, 'keep');
    const postTopic = topics.measurepointPost(persistent.productKey, persistent.deviceKey);
    first.s.write(publishFrame(Buffer.from(postTopic), post('kept', 3), 1, 11));
    await first.s.next((p) => p.cmd === 'puback' && p['messageId'] === 11);
    const reply = first.wire.find((p) => p.cmd === 'publish');
    expect(reply).toMatchObject({ qos: 1, topic: `${postTopic}_reply` });
    // Not acknowledged: the connection drops.
    const offline = wentOffline(h, persistent.assetId);
    first.s.end();
    await offline;

    const again = await login(persistent, false, 'keep');
    const resent = await again.s.next((p) => p.cmd === 'publish');
    expect(resent).toMatchObject({ qos: 1, topic: `${postTopic}_reply`, messageId: reply!.messageId });
    expect(JSON.parse((resent['payload'] as Buffer).toString())).toEqual({ id: 'kept', code: 200, data: {} });
    again.s.write(encode({ cmd: 'puback', messageId: reply!.messageId }));
    again.s.end();
  });
});
