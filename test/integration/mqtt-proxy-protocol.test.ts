import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@edgehub/hub';
import {
  connectFrame,
  connectPassword,
  provision,
  rawSocket,
  spawnHub,
  type AdminCredentials,
  type ProvisionedProduct,
  type SpawnedHub,
} from '../src/index.js';

/** A PROXY protocol v2 header (TCP over IPv4), written here byte by byte from the specification. */
function proxyV2(source: string, sourcePort: number, command: 'PROXY' | 'LOCAL' = 'PROXY'): Buffer {
  const header = Buffer.from([
    0x0d,
    0x0a,
    0x0d,
    0x0a,
    0x00,
    0x0d,
    0x0a,
    0x51,
    0x55,
    0x49,
    0x54,
    0x0a,
    command === 'PROXY' ? 0x21 : 0x20,
    0x11,
    0x00,
    12,
  ]);
  const block = Buffer.alloc(12);
  source.split('.').forEach((octet, i) => block.writeUInt8(Number(octet), i));
  [127, 0, 0, 1].forEach((octet, i) => block.writeUInt8(octet, 4 + i));
  block.writeUInt16BE(sourcePort, 8);
  block.writeUInt16BE(11883, 10);
  return Buffer.concat([header, block]);
}

/** Writes `bytes` on a fresh connection; resolves with the CONNACK return code, or undefined when closed. */
async function exchange(port: number, bytes: Buffer[]): Promise<number | undefined> {
  const s = await rawSocket(port);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  return new Promise((resolve) => {
    parser.on('packet', (p: { cmd: string; returnCode?: number }) => {
      if (p.cmd !== 'connack') return;
      resolve(p.returnCode);
      s.destroy();
    });
    s.on('data', (d) => parser.parse(d));
    s.on('close', () => resolve(undefined));
    s.on('error', () => resolve(undefined));
    for (const b of bytes) s.write(b);
  });
}

describe('PROXY protocol v2 from a trusted load balancer', () => {
  let hub: SpawnedHub;
  let untrusting: SpawnedHub;
  let dataDir: string;
  let product: ProvisionedProduct;
  let port: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edgehub-proxy-'));
    hub = await spawnHub({ HUB_DATA_DIR: dataDir, HUB_MQTT_PROXY_PROTOCOL_FROM: '127.0.0.1,::1', LOG_LEVEL: 'info' });
    untrusting = await spawnHub({ HUB_DATA_DIR: join(dataDir, 'other'), HUB_MQTT_PROXY_PROTOCOL_FROM: '10.9.8.7', LOG_LEVEL: 'info' });
    const creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
    const admin = new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
    product = await provision(admin, creds.orgId, { productType: 'Device', deviceKeys: ['p1'] });
    port = Number(new URL(hub.mqttUrl!).port);
  }, 60_000);

  afterAll(async () => {
    await hub?.stop();
    await untrusting?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const signedConnect = (password?: string) => {
    const d = product.devices[0]!;
    const ts = String(Date.now());
    return connectFrame({
      clientId: `${d.deviceKey}|securemode=2,signmethod=sha256,timestamp=${ts}|`,
      clean: true,
      username: `${d.deviceKey}&${d.productKey}`,
      password: Buffer.from(password ?? connectPassword(d.deviceKey, d, ts, 'sha256')),
    });
  };

  it('accepts a signed device behind the header, also when the header and CONNECT arrive in one segment', async () => {
    expect(await exchange(port, [Buffer.concat([proxyV2('203.0.113.7', 40001), signedConnect()])])).toBe(0);
    expect(await exchange(port, [proxyV2('203.0.113.8', 40002), signedConnect()])).toBe(0);
    // HAProxy's own health check: a LOCAL header, then the connection proceeds as the proxy's.
    expect(await exchange(port, [proxyV2('0.0.0.0', 0, 'LOCAL'), signedConnect()])).toBe(0);
  });

  it("logs the device's address from the header, not the load balancer's", async () => {
    expect(await exchange(port, [proxyV2('203.0.113.77', 45678), signedConnect('0'.repeat(64))])).toBe(4);
    const deadline = Date.now() + 5_000;
    while (!hub.output().includes('203.0.113.77:45678') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(hub.output()).toMatch(/"remote":"203\.0\.113\.77:45678"[^\n]*connection refused/);
  });

  it("logs a direct connection's own address when its CONNECT is refused (read only then)", async () => {
    const other = Number(new URL(untrusting.mqttUrl!).port);
    const s = await rawSocket(other);
    const remote = `${s.localAddress}:${s.localPort}`;
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    // Unknown to this hub (the device was provisioned in the other): refused with 4.
    s.write(signedConnect());
    await closed;
    const deadline = Date.now() + 5_000;
    while (!untrusting.output().includes(remote) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(untrusting.output()).toContain(`"remote":"${remote}"`);
  });

  it('closes a connection from the trusted proxy that does not start with a valid header', async () => {
    expect(await exchange(port, [signedConnect()])).toBeUndefined();
    const badVersion = proxyV2('203.0.113.9', 1);
    badVersion[12] = 0x11; // version 1 in the binary form
    expect(await exchange(port, [badVersion, signedConnect()])).toBeUndefined();
    const hugeBlock = proxyV2('203.0.113.9', 1);
    hugeBlock.writeUInt16BE(60_000, 14);
    expect(await exchange(port, [hugeBlock])).toBeUndefined();
    // the listener is still fine
    expect(await exchange(port, [proxyV2('203.0.113.10', 1), signedConnect()])).toBe(0);
  });

  it('never believes a header from an address that is not a configured proxy', async () => {
    const other = Number(new URL(untrusting.mqttUrl!).port);
    // The header is taken as the start of an MQTT frame, which it is not: the connection closes.
    expect(await exchange(other, [proxyV2('203.0.113.7', 40001), signedConnect()])).toBeUndefined();
  });

  it('reads the header on the TLS listener before the handshake', async () => {
    const tlsPort = Number(/mqtts:\/\/[^:]+:(\d+)/.exec(hub.output())![1]);
    const raw = await rawSocket(tlsPort);
    raw.write(proxyV2('203.0.113.20', 50000));
    const secure = tlsConnect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const code = await new Promise<number | undefined>((resolve) => {
      parser.on('packet', (p: { cmd: string; returnCode?: number }) => p.cmd === 'connack' && resolve(p.returnCode));
      secure.on('data', (d: Buffer) => parser.parse(d));
      secure.on('close', () => resolve(undefined));
      secure.write(signedConnect());
    });
    secure.destroy();
    expect(code).toBe(0);
  });
});
