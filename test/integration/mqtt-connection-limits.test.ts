import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { topics } from '@edgehub/shared';
import { loadConfig } from '@edgehub/hub';
import { connectDevice, newTenant, provision, rawSocket, startHub, type ProvisionedDevice, type RunningHub } from '../src/index.js';

const run = promisify(execFile);

const closedTotal = async (h: RunningHub, reason: string, listener: string) => {
  const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
  return Number(
    new RegExp(`edgehub_mqtt_connections_closed_total\\{reason="${reason}",listener="${listener}"\\} (\\d+)`).exec(text)?.[1] ?? 0,
  );
};

/** Resolves with how long the socket lived once the other side closed it. */
const lifetime = (s: { once(e: 'close', f: () => void): unknown }, since = Date.now()) =>
  new Promise<number>((resolve) => s.once('close', () => resolve(Date.now() - since)));

const wsPort = (h: RunningHub) => Number(new URL(h.wsUrl).port);

/**
 * One door policy on TCP, TLS and WebSocket (docs/SECURITY.md, "Before authentication"): the
 * connect deadline counts from accept, TLS handshake and WebSocket upgrade included; TCP keepalive
 * on every socket; a connection cap that refuses cleanly and counts it.
 */
describe('MQTT connect deadline and TCP keepalive', () => {
  let h: RunningHub;
  let device: ProvisionedDevice;
  const timeoutMs = 400;

  beforeAll(async () => {
    h = await startHub({
      mqtt: {
        ...loadConfig({ HUB_MQTT_CONNECT_TIMEOUT_MS: String(timeoutMs), HUB_MQTT_TCP_KEEPALIVE_SECONDS: '30' }).mqtt,
        port: 0,
        tlsPort: 0,
        wsPort: 0,
      },
    });
    const t = await newTenant(h, 'deadline');
    device = (await provision(t.client, t.orgId, { productType: 'Device', deviceKeys: ['meter'] })).devices[0]!;
  });
  afterAll(async () => {
    await h?.close();
  });

  for (const listener of ['tcp', 'tls', 'ws'] as const) {
    it(`closes a ${listener} connection that sends nothing after the same deadline`, async () => {
      const port = listener === 'tcp' ? h.mqttPort : listener === 'tls' ? h.mqttsPort : wsPort(h);
      const before = await closedTotal(h, 'connect_timeout', listener);
      const s = await rawSocket(port);
      const lived = await lifetime(s);
      expect(lived).toBeGreaterThanOrEqual(timeoutMs - 50);
      expect(lived).toBeLessThan(timeoutMs + 3000);
      expect(await closedTotal(h, 'connect_timeout', listener)).toBe(before + 1);
    });
  }

  it('counts the TLS handshake and the WebSocket upgrade against the deadline: no CONNECT after them, closed', async () => {
    const ca = await readFile(h.tlsCaPath);
    const since = Date.now();
    const t = tlsConnect({ port: h.mqttsPort, host: '127.0.0.1', ca, servername: 'localhost' });
    t.on('error', () => undefined);
    const tlsClosed = lifetime(t, since);
    const ws = new WebSocket(h.wsUrl, 'mqtt');
    ws.on('error', () => undefined);
    const wsClosed = new Promise<number>((resolve) => ws.once('close', () => resolve(Date.now() - since)));
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', resolve);
      t.once('error', reject);
    });
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    expect(await tlsClosed).toBeLessThan(timeoutMs + 3000);
    expect(await wsClosed).toBeLessThan(timeoutMs + 3000);
  });

  it('leaves an authenticated connection alone past the deadline and turns TCP keepalive on for it', async () => {
    const d = await connectDevice(h.mqttUrl, device, { mqtt: { keepalive: 0 } });
    // A socket opened after the device's CONNACK: once the deadline closed it, the device's has passed too.
    await lifetime(await rawSocket(h.mqttPort));
    // A device with MQTT keepalive 0 on a half-open link is ended by the kernel's keepalive probes.
    // Read while the link is idle: ss shows the retransmit timer instead while data is unacknowledged.
    const { stdout } = await run('ss', ['-tnoH', 'state', 'established', 'sport', '=', `:${h.mqttPort}`]);
    const clientPort = (d.client.stream as unknown as { localPort: number }).localPort;
    // Columns: Recv-Q Send-Q Local Peer [timer]; the hub's end of this device's connection.
    const line = stdout.split('\n').find((l) => {
      const [, , local, peer] = l.trim().split(/\s+/);
      return local?.endsWith(`:${h.mqttPort}`) && peer?.endsWith(`:${clientPort}`);
    });
    expect(line).toBeDefined();
    expect(line).toMatch(/timer:\(keepalive,/);
    const reply = await d.request(topics.tslTemplateGet(device.productKey, device.deviceKey), 'thing.tsltemplate.get', {});
    expect(reply.code).toBe(200);
    await d.end();
  });
});

describe('MQTT connection cap', () => {
  let h: RunningHub;
  let device: ProvisionedDevice;

  beforeAll(async () => {
    h = await startHub({ mqtt: { ...loadConfig({ HUB_MQTT_MAX_CONNECTIONS: '3' }).mqtt, port: 0, tlsPort: 0, wsPort: 0 } });
    const t = await newTenant(h, 'cap');
    device = (await provision(t.client, t.orgId, { productType: 'Device', deviceKeys: ['meter'] })).devices[0]!;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses connections beyond HUB_MQTT_MAX_CONNECTIONS at accept, counts them, and keeps serving REST and the devices inside the cap', async () => {
    const d = await connectDevice(h.mqttUrl, device);
    const idle = [await rawSocket(h.mqttPort), await rawSocket(wsPort(h))];
    const before = await closedTotal(h, 'max_connections', 'tcp');
    const extra = await rawSocket(h.mqttPort);
    await lifetime(extra);
    const extraTls = await rawSocket(h.mqttsPort);
    await lifetime(extraTls);
    expect(await closedTotal(h, 'max_connections', 'tcp')).toBe(before + 1);
    expect(await closedTotal(h, 'max_connections', 'tls')).toBe(1);
    expect((await fetch(`${h.baseUrl}/health`)).status).toBe(200);
    const reply = await d.request(topics.tslTemplateGet(device.productKey, device.deviceKey), 'thing.tsltemplate.get', {});
    expect(reply.code).toBe(200);
    for (const s of idle) s.destroy();
    await d.end();
  });
});
