import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPassword, newTenant, provision, requireService, startHub, type RunningHub } from '../src/index.js';
import { opensslCsr } from '../src/openssl-csr.js';

/**
 * Issue 9 item 10, through the hub: a renewal retires the certificate it renews. With
 * HUB_CERT_SUPERSEDED_GRACE_HOURS=0 (certificateSupersededGraceHours) the old certificate is revoked
 * with reason 4 as the renewal is made, `list` shows it, and a session open with it is closed.
 */
const tools = ['openssl', 'mosquitto_sub'].every((t) => spawnSync(t, ['--help'], { stdio: 'ignore' }).error === undefined);
const run = requireService(tools, 'openssl and mosquitto_sub (Debian packages openssl, mosquitto-clients)');

describe.runIf(run)('a renewal supersedes the certificate it renews', () => {
  let h: RunningHub;
  let dir: string;
  const subs: ChildProcess[] = [];

  beforeAll(async () => {
    h = await startHub({ certificateSupersededGraceHours: 0 });
    dir = await mkdtemp(join(tmpdir(), 'edgehub-supersede-'));
  });
  afterAll(async () => {
    for (const s of subs) if (s.exitCode === null) s.kill('SIGKILL');
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('revokes the renewed certificate with reason 4 and closes the session opened with it', async () => {
    const { client, orgId } = await newTenant(h, 'supersede');
    const d = (await provision(client, orgId, { productType: 'Device', deviceKeys: ['renewing'], product: { biDirectionalAuth: true } }))
      .devices[0]!;
    const { keyFile: key, csrPem } = await opensslCsr(dir, 'd', `renewing-${Date.now()}`);
    const certs = (action: string, body?: unknown) =>
      client.call<{ cert: string; certSN: string }>(
        'POST',
        '/connect-service/v2.0/certificates',
        { action, orgId, assetId: d.assetId },
        body,
      );
    const first = await certs('apply', { csr: csrPem, issueAuthority: 'ECC' });
    expect(first.code, first.msg).toBe(0);
    const certFile = join(dir, 'd.crt');
    await writeFile(certFile, first.data.cert);

    const lifecycle = h.hub.broker.lifecycle;
    const next = (want: 'online' | 'offline') =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`device did not go ${want} in time`)), 15_000);
        const on = (device: { assetId: string }) => {
          if (device.assetId !== d.assetId) return;
          clearTimeout(timer);
          lifecycle.off(want, on);
          resolve();
        };
        lifecycle.on(want, on);
      });
    const online = next('online');
    const ts = String(Date.now());
    const sub = spawn(
      'mosquitto_sub',
      [
        '-V',
        'mqttv311',
        '-h',
        'localhost',
        '-p',
        String(h.mqttsPort),
        '--cafile',
        h.tlsCaPath,
        '--cert',
        certFile,
        '--key',
        key,
        '-i',
        `${d.deviceKey}|securemode=2,signmethod=sha256,timestamp=${ts}|`,
        '-u',
        `${d.deviceKey}&${d.productKey}`,
        '-P',
        connectPassword(d.deviceKey, d, ts, 'sha256'),
        '-t',
        `/sys/${d.productKey}/${d.deviceKey}/thing/model/up_raw_reply`,
      ],
      { stdio: 'ignore' },
    );
    subs.push(sub);
    await online;

    const offline = next('offline');
    const renewed = await certs('renew', { certSn: Number(first.data.certSN) });
    expect(renewed.code, renewed.msg).toBe(0);
    await offline;
    const listed = await client.call<{ certSN: string; certStatus: number; revokerReason?: string }[]>(
      'GET',
      '/connect-service/v2.0/certificates',
      { action: 'list', orgId, assetId: d.assetId },
    );
    expect(listed.data.map((c) => [c.certSN, c.certStatus, c.revokerReason])).toEqual([
      [renewed.data.certSN, 0, undefined],
      [first.data.certSN, 1, '4'],
    ]);
  });
});
