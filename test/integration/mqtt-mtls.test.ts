import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';
import {
  connectPassword,
  newTenant,
  provision,
  requireService,
  startHub,
  type ProvisionedDevice,
  type ProvisionedProduct,
  type RunningHub,
} from '../src/index.js';
import { opensslCsr, runTool } from '../src/openssl-csr.js';

const tools = ['openssl', 'mosquitto_pub'].every((t) => spawnSync(t, ['version'], { stdio: 'ignore' }).error === undefined);
const run = requireService(tools, 'openssl and mosquitto_pub (Debian packages openssl, mosquitto-clients)');

/**
 * Certificate-based two-way authentication (docs/ENOS-PROTOCOL.md §6, seed step 5): CSRs from real
 * openssl, certificates applied through the hub REST, connections by real mosquitto_pub.
 */
describe.runIf(run)('mutual TLS', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let dir: string;
  let bi: ProvisionedProduct;
  const creds = new Map<string, { key: string; cert: string; certSN: string }>();

  async function issueFor(d: ProvisionedDevice, cn: string): Promise<void> {
    const { keyFile: key, csrPem } = await opensslCsr(dir, d.deviceKey, cn);
    const r = await c.call<{ cert: string; certSN: string }>(
      'POST',
      '/connect-service/v2.0/certificates',
      { action: 'apply', orgId, assetId: d.assetId },
      { csr: csrPem, validDay: 30, issueAuthority: 'ECC' },
    );
    expect(r.code).toBe(0);
    const cert = join(dir, `${d.deviceKey}.crt`);
    await writeFile(cert, r.data.cert);
    creds.set(d.deviceKey, { key, cert, certSN: String(r.data.certSN) });
  }

  /** mosquitto_pub as device `d`, optionally presenting the certificate of `as` (default: its own). */
  function publish(d: ProvisionedDevice, o: { tls: boolean; certOf?: string | null; value?: number }) {
    const ts = String(Date.now());
    const args = [
      '-V',
      'mqttv311',
      '-q',
      '1',
      '-i',
      `${d.deviceKey}|securemode=2,signmethod=sha256,timestamp=${ts}|`,
      '-u',
      `${d.deviceKey}&${d.productKey}`,
      '-P',
      connectPassword(d.deviceKey, d, ts, 'sha256'),
    ];
    args.push(
      '-t',
      topics.measurepointPost(d.productKey, d.deviceKey),
      '-m',
      JSON.stringify({ id: '1', version: '1.0', method: 'thing.measurepoint.post', params: { measurepoints: { temp: o.value ?? 1 } } }),
    );
    if (o.tls) {
      args.push('-h', 'localhost', '-p', String(h.mqttsPort), '--cafile', h.tlsCaPath);
      const who = o.certOf === undefined ? d.deviceKey : o.certOf;
      if (who) args.push('--cert', creds.get(who)!.cert, '--key', creds.get(who)!.key);
    } else {
      args.push('-h', '127.0.0.1', '-p', String(h.mqttPort));
    }
    return runTool('mosquitto_pub', args, { timeoutMs: 15_000 });
  }

  beforeAll(async () => {
    h = await startHub();
    ({ client: c, orgId } = await newTenant(h, 'mtls'));
    dir = await mkdtemp(join(tmpdir(), 'edgehub-mtls-'));
    bi = await provision(c, orgId, { productType: 'Gateway', deviceKeys: ['edge-a', 'edge-b'], product: { biDirectionalAuth: true } });
    await issueFor(bi.devices[0]!, `mtls-a-${Date.now()}`);
    await issueFor(bi.devices[1]!, `mtls-b-${Date.now()}`);
  });
  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('accepts a device presenting its own issued certificate, and ingests its data', async () => {
    const a = bi.devices[0]!;
    const r = await publish(a, { tls: true, value: 36.6 });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect((await h.hub.telemetry.latest(a.assetId))?.measurepoints['temp']?.value).toBe(36.6);
  });

  it('refuses a bi-directional-auth product without a client certificate, on TLS and on plain TCP', async () => {
    const a = bi.devices[0]!;
    const noCert = await publish(a, { tls: true, certOf: null });
    expect(noCert.code).not.toBe(0);
    expect(noCert.stderr).toMatch(/not authori[sz]ed/i);
    const plain = await publish(a, { tls: false });
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/not authori[sz]ed/i);
  });

  it('refuses a device logging in with a valid certificate issued to another device', async () => {
    const a = bi.devices[0]!;
    const r = await publish(a, { tls: true, certOf: 'edge-b' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not authori[sz]ed/i);
  });

  it('refuses the same command after the certificate is revoked', async () => {
    const b = bi.devices[1]!;
    expect((await publish(b, { tls: true, value: 1 })).code).toBe(0);
    const certSn = creds.get('edge-b')!.certSN;
    const revoked = await c.call(
      'POST',
      '/connect-service/v2.0/certificates',
      { action: 'revoke', orgId, assetId: b.assetId },
      { certSn: Number(certSn), reason: 1 },
    );
    expect(revoked.code).toBe(0);
    const after = await publish(b, { tls: true, value: 2 });
    expect(after.code).not.toBe(0);
    expect((await h.hub.telemetry.latest(b.assetId))?.measurepoints['temp']?.value).toBe(1);
  });
});
