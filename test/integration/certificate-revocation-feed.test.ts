import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCertificateService } from '@edgehub/certificate-service';
import {
  connectPassword,
  newTenant,
  provision,
  requireService,
  spawnCertificateService,
  startHub,
  type RunningHub,
  type SpawnedCertificateService,
} from '../src/index.js';
import { opensslCsr } from '../src/openssl-csr.js';

/**
 * Issue 9 item 7: with a standalone certificate service, a revocation made at the service (not
 * through this hub) closes the sessions already open with that certificate within seconds, and the
 * certificate is refused afterwards. Real processes and clients: the service binary, openssl for
 * the key and CSR, mosquitto_sub holding an mTLS session.
 */
const tools = ['openssl', 'mosquitto_sub'].every((t) => spawnSync(t, ['--help'], { stdio: 'ignore' }).error === undefined);
const run = requireService(tools, 'openssl and mosquitto_sub (Debian packages openssl, mosquitto-clients)');
const secret = 'revocation-feed-shared-secret-0123456789';

describe.runIf(run)('revocations made at a standalone certificate service reach open sessions', () => {
  let dir: string;
  let service: SpawnedCertificateService;
  let serviceUrl: string;
  let h: RunningHub;
  const subs: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgehub-revfeed-'));
    service = spawnCertificateService({ dataDir: join(dir, 'service'), sharedSecret: secret });
    serviceUrl = await service.started;
    h = await startHub({ certificateService: { url: serviceUrl, sharedSecret: secret } });
  }, 120_000);
  afterAll(async () => {
    for (const s of subs) if (s.exitCode === null) s.kill('SIGKILL');
    await h?.close();
    await service?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('closes a live mosquitto_sub mTLS session within seconds of a revocation made at the service, then refuses the certificate', async () => {
    const { client, orgId } = await newTenant(h, 'revfeed');
    const product = await provision(client, orgId, { productType: 'Device', deviceKeys: ['held'], product: { biDirectionalAuth: true } });
    const d = product.devices[0]!;
    const { keyFile: key, csrPem } = await opensslCsr(dir, 'held', `held-${Date.now()}`);
    const applied = await client.call<{ cert: string; certSN: string }>(
      'POST',
      '/connect-service/v2.0/certificates',
      { action: 'apply', orgId, assetId: d.assetId },
      { csr: csrPem, issueAuthority: 'ECC' },
    );
    expect(applied.code, applied.msg).toBe(0);
    const cert = join(dir, 'held.crt');
    await writeFile(cert, applied.data.cert);

    const lifecycle = h.hub.broker.lifecycle;
    const status = (want: 'online' | 'offline', timeoutMs: number) =>
      new Promise<number>((resolve, reject) => {
        const started = Date.now();
        const timer = setTimeout(() => reject(new Error(`device did not go ${want} within ${timeoutMs} ms`)), timeoutMs);
        const on = (device: { assetId: string }) => {
          if (device.assetId !== d.assetId) return;
          clearTimeout(timer);
          lifecycle.off(want, on);
          resolve(Date.now() - started);
        };
        lifecycle.on(want, on);
      });

    const connect = () => {
      const ts = String(Date.now());
      const args = [
        '-V',
        'mqttv311',
        '-h',
        'localhost',
        '-p',
        String(h.mqttsPort),
        '--cafile',
        h.tlsCaPath,
        '--cert',
        cert,
        '--key',
        key,
        '-d',
      ];
      args.push(
        '-i',
        `${d.deviceKey}|securemode=2,signmethod=sha256,timestamp=${ts}|`,
        '-u',
        `${d.deviceKey}&${d.productKey}`,
        '-P',
        connectPassword(d.deviceKey, d, ts, 'sha256'),
      );
      args.push('-t', `/sys/${d.productKey}/${d.deviceKey}/thing/model/up_raw_reply`, '-k', '60');
      const child = spawn('mosquitto_sub', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      subs.push(child);
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      return { child, output: () => out };
    };

    const online = status('online', 20_000);
    const sub = connect();
    await online;
    expect(h.hub.broker.sessions.ofDevice(d.productKey, d.deviceKey)?.certificateSerial).toBeDefined();

    // Revoked at the service, by a caller that is not this hub (an operator, another hub).
    const operator = connectCertificateService({ baseUrl: serviceUrl, sharedSecret: secret });
    const offline = status('offline', 10_000);
    await operator.revoke({ certSN: applied.data.certSN, reason: 1 });
    const tookMs = await offline;
    expect(tookMs).toBeLessThan(10_000);
    expect(h.hub.broker.sessions.ofDevice(d.productKey, d.deviceKey)).toBeUndefined();
    sub.child.kill('SIGTERM');

    // and the certificate no longer gets a session
    const again = connect();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        again.child.kill('SIGTERM');
      }, 3_000);
      again.child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(again.output()).not.toMatch(/CONNACK \(0\)/);
    expect(h.hub.broker.sessions.ofDevice(d.productKey, d.deviceKey)).toBeUndefined();
    void code;
  });
});
