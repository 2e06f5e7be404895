import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';
import {
  connectDevice,
  ConnectRefused,
  rawConnect,
  wentOffline,
  wentOnline,
  newTenant,
  provision,
  startHub,
  type ConnectOptions,
  type Digest,
  type ProvisionedDevice,
  type ProvisionedProduct,
  type RunningHub,
  type TestDevice,
} from '../src/index.js';

type DeviceView = { status: string; activeTime: number | null; lastOnlineTime: number | null; lastOfflineTime: number | null };

/** CONNECT authentication and device lifecycle with a real mqtt.js client (docs/ENOS-PROTOCOL.md §2). */
describe('MQTT CONNECT', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let p: ProvisionedProduct;

  const device = (i: number) => p.devices[i]!;
  const getDevice = async (deviceKey: string) =>
    (await c.ok<DeviceView>('GET', '/connect-service/v2.1/devices', { action: 'get', orgId, productKey: p.productKey, deviceKey })).data;
  const refusal = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (e) {
      if (e instanceof ConnectRefused) return e.returnCode;
      throw e;
    }
    throw new Error('connection was accepted');
  };

  /**
   * Connects and checks the hub's side of the accepted CONNECT, not only the client's CONNACK:
   * the device turned online in the registry, the hub holds one session for it on the expected
   * listener, and the connection is served as that device (a request answered 200).
   */
  async function connectServed(
    d: ProvisionedDevice,
    o: ConnectOptions = {},
    url = h.mqttUrl,
    listener: 'tcp' | 'tls' | 'ws' = 'tcp',
  ): Promise<TestDevice> {
    const online = wentOnline(h, d.assetId);
    const conn = await connectDevice(url, d, o);
    await online;
    const session = h.hub.broker.sessions.ofDevice(d.productKey, d.deviceKey);
    expect(session?.device.assetId).toBe(d.assetId);
    expect(session?.listener).toBe(listener);
    expect((await getDevice(d.deviceKey)).status).toBe('online');
    const reply = await conn.request(topics.tslTemplateGet(d.productKey, d.deviceKey), 'thing.tsltemplate.get', {});
    expect(reply.code).toBe(200);
    return conn;
  }
  /** Disconnects and waits until the hub has turned the device offline and dropped its session. */
  async function endServed(conn: TestDevice, d: ProvisionedDevice): Promise<void> {
    const offline = wentOffline(h, d.assetId);
    await conn.end();
    await offline;
    expect(h.hub.broker.sessions.ofDevice(d.productKey, d.deviceKey)).toBeUndefined();
  }

  beforeAll(async () => {
    h = await startHub();
    const t = await newTenant(h, 'mqtt');
    ({ client: c, orgId } = t);
    p = await provision(c, orgId, { productType: 'Device', deviceKeys: Array.from({ length: 12 }, (_, i) => `dev-${i}`) });
  });
  afterAll(async () => {
    await h?.close();
  });

  const methods: [string, Digest][] = [
    ['sha256', 'sha256'],
    ['hmacsha256', 'sha256'],
    ['sha1', 'sha1'],
    ['hmacsha1', 'sha1'],
    ['md5', 'md5'],
    ['HmacMD5', 'md5'],
  ];
  for (const [label, digest] of methods) {
    for (const upperCase of [false, true]) {
      it(`accepts signmethod=${label} with ${upperCase ? 'upper' : 'lower'}-case hex`, async () => {
        const d = await connectServed(device(0), { signMethod: label, digest, upperCase });
        await endServed(d, device(0));
      });
    }
  }

  it('accepts the Java SDK ClientId with extra info, the C SDK fixed timestamp and a Python float timestamp', async () => {
    const java = await connectServed(device(1), { extraInfo: '{ip=10.0.0.5,version=enos-mqtt-2.3.0,compress=DEFAULT}' });
    await endServed(java, device(1));
    const c = await connectServed(device(1), {
      clientId: `${p.productKey}.${device(1).deviceKey}`,
      timestamp: '2524608000000',
      upperCase: true,
    });
    await endServed(c, device(1));
    const py = await connectServed(device(1), { timestamp: '1600000000000.123' });
    await endServed(py, device(1));
  });

  it('refuses a bad signature, an unknown device and a malformed username with CONNACK 4', async () => {
    expect(await refusal(connectDevice(h.mqttUrl, { ...device(2), secret: 'wrong-secret' }))).toBe(4);
    expect(await refusal(connectDevice(h.mqttUrl, { ...device(2), deviceKey: 'nobody' }))).toBe(4);
    expect(await refusal(connectDevice(h.mqttUrl, device(2), { mqtt: { username: 'no-ampersand' } }))).toBe(4);
    expect(await refusal(connectDevice(h.mqttUrl, device(2), { signMethod: 'sha512' }))).toBe(4);
    expect(await refusal(connectDevice(h.mqttUrl, device(2), { mqtt: { clientId: 'garbage-without-pipes' } }))).toBe(4);
    // A signature over another timestamp than the ClientId's is a bad signature.
    const d = device(2);
    const { connectPassword } = await import('../src/mqtt-device.js');
    expect(await refusal(connectDevice(h.mqttUrl, d, { timestamp: '1', password: connectPassword(d.deviceKey, d, '2', 'sha256') }))).toBe(
      4,
    );
    expect((await getDevice(d.deviceKey)).status).toBe('inactive');
  });

  it('refuses a disabled device with CONNACK 5 and lets it in once enabled', async () => {
    const d = device(3);
    await c.ok('POST', '/connect-service/v2.1/devices', { action: 'disable', orgId, productKey: p.productKey, deviceKey: d.deviceKey });
    expect(await refusal(connectDevice(h.mqttUrl, d))).toBe(5);
    expect(h.hub.broker.sessions.ofDevice(d.productKey, d.deviceKey)).toBeUndefined();
    expect((await getDevice(d.deviceKey)).status).toBe('disabled');
    await c.ok('POST', '/connect-service/v2.1/devices', { action: 'enable', orgId, productKey: p.productKey, deviceKey: d.deviceKey });
    const ok = await connectServed(d);
    await endServed(ok, d);
  });

  it('a device the hub has let in before is refused at once when disabled, and a re-created one only with its new secret', async () => {
    // Log in twice first, so whatever the CONNECT path remembers about the device is warm.
    const d = device(11);
    await endServed(await connectServed(d), d);
    await endServed(await connectServed(d), d);
    const ref = { orgId, productKey: p.productKey, deviceKey: d.deviceKey };
    await c.ok('POST', '/connect-service/v2.1/devices', { action: 'disable', ...ref });
    expect(await refusal(connectDevice(h.mqttUrl, d))).toBe(5);
    await c.ok('POST', '/connect-service/v2.1/devices', { action: 'enable', ...ref });
    await endServed(await connectServed(d), d);

    // Deleted: unknown at once. Re-created under the same key: a new assetId and secret; the old secret is refused.
    await c.ok('POST', '/connect-service/v2.1/devices', { action: 'delete', ...ref });
    expect(await refusal(connectDevice(h.mqttUrl, d))).toBe(4);
    const created = await c.ok<{ assetId: string; deviceSecret: string }>(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'create', orgId },
      { productKey: p.productKey, deviceKey: d.deviceKey, deviceName: { defaultValue: 'again' }, timezone: '+08:00' },
    );
    expect(created.data.assetId).not.toBe(d.assetId);
    expect(await refusal(connectDevice(h.mqttUrl, d))).toBe(4);
    const again = { ...d, assetId: created.data.assetId, secret: created.data.deviceSecret };
    await endServed(await connectServed(again), again);
  });

  it('refuses a zero-length ClientId without a clean session (CONNACK 2)', async () => {
    // mqtt.js will not even send this, so the frame is written by hand.
    const d = device(4);
    const username = `${d.deviceKey}&${p.productKey}`;
    expect(await rawConnect(h.mqttPort, { clean: false, clientId: '', username, password: Buffer.from('x') })).toBe(2);
    // with a clean session the empty ClientId is only as good as its (missing) signature
    expect(await rawConnect(h.mqttPort, { clean: true, clientId: '', username, password: Buffer.from('x') })).toBe(4);
  });

  it('moves a device inactive → online on first login and online → offline on disconnect', async () => {
    const d = device(5);
    expect(await getDevice(d.deviceKey)).toMatchObject({ status: 'inactive', activeTime: null });
    const before = Date.now();
    const onlineEvent = wentOnline(h, d.assetId);
    const conn = await connectDevice(h.mqttUrl, d);
    await onlineEvent;
    const online = await getDevice(d.deviceKey);
    expect(online.status).toBe('online');
    expect(online.activeTime).toBeGreaterThanOrEqual(before);
    expect(online.lastOnlineTime).toBe(online.activeTime);
    const offlineEvent = wentOffline(h, d.assetId);
    await conn.end();
    await offlineEvent;
    const offline = await getDevice(d.deviceKey);
    expect(offline.lastOfflineTime).toBeGreaterThanOrEqual(online.lastOnlineTime!);
    expect(offline.activeTime).toBe(online.activeTime);
    // a second login keeps the first activeTime
    const onlineAgain = wentOnline(h, d.assetId);
    const again = await connectDevice(h.mqttUrl, d);
    await onlineAgain;
    expect((await getDevice(d.deviceKey)).activeTime).toBe(online.activeTime);
    await again.end();
  });

  it('a second login with the same triple takes over and closes the older connection; the device stays online', async () => {
    const d = device(6);
    const first = await connectDevice(h.mqttUrl, d, { clientId: 'first' });
    const closed = new Promise<void>((resolve) => first.client.once('close', () => resolve()));
    const secondOnline = wentOnline(h, d.assetId);
    const second = await connectDevice(h.mqttUrl, d, { clientId: 'second' });
    await closed;
    await secondOnline;
    await h.hub.broker.lifecycle.settled();
    expect((await getDevice(d.deviceKey)).status).toBe('online');
    // The connection that stayed is the newer one: it is still served.
    expect(first.client.connected).toBe(false);
    const reply = await second.request(topics.tslTemplateGet(p.productKey, d.deviceKey), 'thing.tsltemplate.get', {});
    expect(reply.code).toBe(200);
    await second.end();
  });

  it('speaks MQTT over TLS (server certificate checked against its CA) and over WebSocket', async () => {
    const { readFile } = await import('node:fs/promises');
    const ca = await readFile(h.tlsCaPath);
    const tls = await connectServed(device(7), { mqtt: { ca, rejectUnauthorized: true, servername: 'localhost' } }, h.mqttsUrl, 'tls');
    await endServed(tls, device(7));
    const ws = await connectServed(device(7), {}, h.wsUrl, 'ws');
    await endServed(ws, device(7));
  });

  it('throttles reconnect storms per device when enabled (CONNACK 3)', async () => {
    const t = await startHub({
      mqtt: {
        ...h.hub.config.mqtt,
        port: 0,
        tlsPort: 0,
        wsPort: 0,
        throttle: { enabled: true, minIntervalMs: 60_000, windowMs: 120_000, maxInWindow: 4, blockMs: 300_000 },
      },
    });
    try {
      const tt = await newTenant(t, 'throttle');
      const tp = await provision(tt.client, tt.orgId, { productType: 'Device', deviceKeys: ['storm', 'calm'] });
      const first = await connectDevice(t.mqttUrl, tp.devices[0]!);
      await first.end();
      expect(await refusal(connectDevice(t.mqttUrl, tp.devices[0]!))).toBe(3);
      // another device is not affected, and a wrong secret does not count against a device
      expect(await refusal(connectDevice(t.mqttUrl, { ...tp.devices[1]!, secret: 'x' }))).toBe(4);
      const calm = await connectDevice(t.mqttUrl, tp.devices[1]!);
      await calm.end();
    } finally {
      await t.close();
    }
  });
});
