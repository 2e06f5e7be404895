import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';
import { connectPassword, newTenant, provision, requireService, startHub, type ProvisionedDevice, type RunningHub } from '../src/index.js';
import { opensslCsr, runTool } from '../src/openssl-csr.js';

/**
 * Issue 9 item 9: the MQTT TLS listener's certificates are issued by the hub's own CA, so a device
 * that trusts only the `caCert` returned by `certificates?action=apply` verifies the server; an
 * ECDSA and an RSA certificate are served with their chain (a TLS 1.2 client limited to ECDHE-RSA
 * suites completes the handshake); a re-issue takes effect on the running listener.
 */
const tools = ['openssl', 'mosquitto_pub'].every((t) => spawnSync(t, ['help'], { stdio: 'ignore' }).error === undefined);
const run = requireService(tools, 'openssl and mosquitto_pub (Debian packages openssl, mosquitto-clients)');

describe.runIf(run)("the TLS listener's certificates come from the hub's CA", () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let dir: string;
  let device: ProvisionedDevice;
  let caFile: string;
  let key: string;
  let cert: string;

  beforeAll(async () => {
    h = await startHub();
    ({ client: c, orgId } = await newTenant(h, 'tls-server'));
    dir = await mkdtemp(join(tmpdir(), 'edgehub-tls-server-'));
    device = (await provision(c, orgId, { productType: 'Device', deviceKeys: ['trusting'], product: { biDirectionalAuth: true } }))
      .devices[0]!;
    let csrPem: string;
    ({ keyFile: key, csrPem } = await opensslCsr(dir, 'device', `trusting-${Date.now()}`));
    const r = await c.call<{ cert: string; caCert: string }>(
      'POST',
      '/connect-service/v2.0/certificates',
      { action: 'apply', orgId, assetId: device.assetId },
      { csr: csrPem, issueAuthority: 'ECC' },
    );
    expect(r.code, r.msg).toBe(0);
    // Only what the protocol hands the device: its certificate and caCert.
    caFile = join(dir, 'caCert.pem');
    await writeFile(caFile, r.data.caCert);
    cert = join(dir, 'device.crt');
    await writeFile(cert, r.data.cert);
  });
  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** openssl s_client with only caCert as trust anchor; `cipher` limits a TLS 1.2 client to one suite family. */
  const handshake = (cipher: string) =>
    runTool('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${h.mqttsPort}`,
      '-servername',
      'localhost',
      '-verify_hostname',
      'localhost',
      '-tls1_2',
      '-cipher',
      cipher,
      '-CAfile',
      caFile,
      '-verify_return_error',
      '-showcerts',
    ]);

  const leafSerial = async (sClientOutput: string) => {
    const first = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(sClientOutput)![0];
    return (await runTool('openssl', ['x509', '-noout', '-serial'], { input: first + '\n' })).out.trim();
  };

  it('mosquitto_pub trusting only caCert from certificates?action=apply verifies the broker and publishes', async () => {
    const ts = String(Date.now());
    const r = await runTool('mosquitto_pub', [
      '-V',
      'mqttv311',
      '-q',
      '1',
      '-h',
      'localhost',
      '-p',
      String(h.mqttsPort),
      '--cafile',
      caFile,
      '--cert',
      cert,
      '--key',
      key,
      '-i',
      `${device.deviceKey}|securemode=2,signmethod=sha256,timestamp=${ts}|`,
      '-u',
      `${device.deviceKey}&${device.productKey}`,
      '-P',
      connectPassword(device.deviceKey, device, ts, 'sha256'),
      '-t',
      topics.measurepointPost(device.productKey, device.deviceKey),
      '-m',
      JSON.stringify({ id: '1', version: '1.0', method: 'thing.measurepoint.post', params: { measurepoints: { temp: 21.5 } } }),
    ]);
    expect(r.out).not.toMatch(/verify failed|self.signed/i);
    expect(r.code, r.out).toBe(0);
    expect((await h.hub.telemetry.latest(device.assetId))?.measurepoints['temp']?.value).toBe(21.5);
  });

  it('serves an RSA certificate to a TLS 1.2 client limited to ECDHE-RSA suites, and an ECDSA one to ECDHE-ECDSA, each with its chain', async () => {
    for (const [cipher, algorithm] of [
      ['ECDHE-RSA-AES128-GCM-SHA256', /rsaEncryption|RSA/],
      ['ECDHE-ECDSA-AES128-GCM-SHA256', /id-ecPublicKey|EC/],
    ] as const) {
      const r = await handshake(cipher);
      expect(r.out, cipher).toMatch(/Verify return code: 0 \(ok\)/);
      expect(r.out).toContain(`Cipher is ${cipher}`);
      // leaf + issuing CA
      expect(r.out.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
      const first = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(r.out)![0];
      const text = (await runTool('openssl', ['x509', '-noout', '-text'], { input: first + '\n' })).out;
      expect(text).toMatch(/Public Key Algorithm: (\S+)/);
      expect(/Public Key Algorithm: (\S+)/.exec(text)![1]).toMatch(algorithm);
      expect(text).toMatch(/TLS Web Server Authentication/);
      expect(text).toMatch(/DNS:localhost/);
    }
  });

  it('keeps the keys 0600 in $HUB_DATA_DIR/tls, the root as tls/ca.crt, and re-issues before expiry on the running listener', async () => {
    for (const f of ['server-ecdsa.key', 'server-rsa.key']) expect((await stat(join(h.dataDir, 'tls', f))).mode & 0o777).toBe(0o600);
    expect(h.tlsCaPath).toBe(join(h.dataDir, 'tls', 'ca.crt'));
    expect((await readFile(h.tlsCaPath, 'utf8')).trim()).toBe((await readFile(caFile, 'utf8')).trim());

    const before = await leafSerial((await handshake('ECDHE-ECDSA-AES128-GCM-SHA256')).out);
    const serverCertificates = h.hub.broker.serverCertificates;
    // Far from expiry: nothing to do.
    expect(await serverCertificates.check()).toBe(false);
    // 29 days before notAfter: re-issued, and new handshakes get the new certificate.
    expect(await serverCertificates.check(serverCertificates.material.notAfter.getTime() - 29 * 86_400_000)).toBe(true);
    const after = (await handshake('ECDHE-ECDSA-AES128-GCM-SHA256')).out;
    expect(after).toMatch(/Verify return code: 0 \(ok\)/);
    expect(await leafSerial(after)).not.toBe(before);
  });
});
