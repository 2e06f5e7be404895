import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { ApiClient } from '@edgehub/hub';
import {
  connectDevice,
  connectFrame,
  connectPassword,
  encode,
  provision,
  rawSocket,
  RawSession,
  spawnHub,
  type AdminCredentials,
  type ProvisionedDevice,
  type SpawnedHub,
} from '../src/index.js';

/** Resident memory of a process, from /proc (Linux). */
async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** A fixed header announcing `length` body bytes (MQTT 3.1.1 §2.2.3). */
function fixedHeader(firstByte: number, length: number): Buffer {
  const bytes = [firstByte];
  do {
    let b = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) b |= 0x80;
    bytes.push(b);
  } while (length > 0);
  return Buffer.from(bytes);
}

/**
 * Writes a frame header announcing `announced` bytes, then up to `send` bytes of body; resolves
 * with how many bytes the hub took before it closed the connection (or all of them).
 */
async function flood(port: number, header: Buffer, send: number, before?: Buffer): Promise<{ closedByHub: boolean }> {
  const s = await rawSocket(port);
  const closed = new Promise<boolean>((resolve) => {
    s.once('close', () => resolve(true));
    s.on('error', () => undefined);
  });
  if (before) s.write(before);
  s.write(header);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  let stop = false;
  void closed.then(() => (stop = true));
  while (sent < send && !stop) {
    if (!s.write(chunk)) await new Promise<void>((resolve) => s.once('drain', resolve).once('close', resolve));
    sent += chunk.length;
  }
  const result = await Promise.race([closed, new Promise<false>((resolve) => s.end(() => resolve(false)))]);
  s.destroy();
  return { closedByHub: result || stop };
}

/**
 * Frames are bounded before they are buffered (docs/SECURITY.md, "Before authentication"): a
 * CONNECT announcing 256 MB is refused from its header on a spawned hub, whose memory stays flat,
 * and a legitimate device is still served.
 */
describe('MQTT frame limits on a spawned hub', () => {
  let hub: SpawnedHub;
  let dataDir: string;
  let port: number;
  let device: ProvisionedDevice;
  let admin: ApiClient;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edgehub-frames-'));
    hub = await spawnHub({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    port = Number(new URL(hub.mqttUrl!).port);
    const creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
    admin = new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
    device = (await provision(admin, creds.orgId, { productType: 'Device', deviceKeys: ['meter'] })).devices[0]!;
  });
  afterAll(async () => {
    await hub?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const closedTotal = async (reason: string) => {
    const text = await (await fetch(`${hub.baseUrl}/metrics`)).text();
    return Number(new RegExp(`edgehub_mqtt_connections_closed_total\\{reason="${reason}",listener="tcp"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };

  it('closes unauthenticated connections announcing a 256 MB CONNECT without buffering them; RSS stays bounded', async () => {
    const before = await rssBytes(hub.child.pid!);
    // Four connections, each announcing 256 MB (the largest remaining length) and sending 48 MB of it.
    const results = await Promise.all(
      Array.from({ length: 4 }, () => flood(port, fixedHeader(0x10, 256 * 1024 * 1024 - 1), 48 * 1024 * 1024)),
    );
    expect(results.every((r) => r.closedByHub)).toBe(true);
    const after = await rssBytes(hub.child.pid!);
    expect(after - before).toBeLessThan(64 * 1024 * 1024);
    expect(await closedTotal('frame_too_large')).toBeGreaterThanOrEqual(4);

    // The hub still serves a device.
    const d = await connectDevice(hub.mqttUrl!, device);
    const r = await d.request(topics.measurepointPost(device.productKey, device.deviceKey), 'thing.measurepoint.post', {
      measurepoints: { temp: 1 },
    });
    expect(r.code).toBe(200);
    await d.end();
  });

  it('closes an authenticated connection whose frame is larger than HUB_MQTT_MAX_FRAME_BYTES (1 MiB), from its header', async () => {
    const ts = String(Date.now());
    const login = connectFrame({
      clientId: `meter|securemode=2,signmethod=sha256,timestamp=${ts}|`,
      clean: true,
      username: `${device.deviceKey}&${device.productKey}`,
      password: Buffer.from(connectPassword('meter', device, ts, 'sha256')),
    });
    const s = await RawSession.open(port);
    s.write(login);
    expect(await s.next((p) => p.cmd === 'connack')).toMatchObject({ returnCode: 0 });
    // Under the frame limit but over the 512 KB payload limit: answered 1008, the connection stays.
    const topic = topics.measurepointPost(device.productKey, device.deviceKey);
    const big = JSON.stringify({
      id: 'big',
      version: '1.0',
      method: 'thing.measurepoint.post',
      params: { measurepoints: { temp: 1 }, pad: 'x'.repeat(600 * 1024) },
    });
    s.write(encode({ cmd: 'publish', topic, qos: 0, payload: big }));
    const reply = await s.next((p) => p.cmd === 'publish' && p['topic'] === `${topic}_reply`);
    expect(JSON.parse(String(reply['payload']))).toMatchObject({ id: 'big', code: 1008 });

    const before = await closedTotal('frame_too_large');
    s.write(fixedHeader(0x30, 2 * 1024 * 1024));
    s.write(Buffer.alloc(64 * 1024));
    await s.closed;
    expect(await closedTotal('frame_too_large')).toBe(before + 1);
  });
});
