import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCertificateServer, type RunningCertificateServer } from '@edgehub/certificate-service';
import { buildCsr, generateDeviceKey } from '@edgehub/shared/device-certificate';
import { clientCertificatePolicy } from '../src/certificates/client-policy.js';
import { openHubCertificates, type HubCertificates } from '../src/certificates/open.js';

/**
 * The hub's two ways to the certificate service, embedded and standalone over the signed channel,
 * seen through what the TLS listener needs from them.
 */
const silent = { info() {}, warn() {}, error() {} };
const secret = 'a-shared-secret-of-at-least-32-characters!';

describe('hub certificates', () => {
  let dir: string;
  let standalone: RunningCertificateServer;
  const opened: HubCertificates[] = [];
  let n = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-certs-'));
    standalone = await startCertificateServer({ dataDir: join(dir, 'standalone'), port: 0, sharedSecret: secret });
  });
  afterAll(async () => {
    for (const c of opened) await c.close();
    await standalone?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const open = async (mode: 'embedded' | 'remote') => {
    const c = await openHubCertificates({
      dataDir: join(dir, `hub-${++n}`),
      mode: mode === 'embedded' ? 'embedded' : { url: standalone.url, sharedSecret: secret },
      publicBaseUrl: () => 'http://hub.example:8080',
      log: silent,
    });
    opened.push(c);
    return c;
  };

  it('embedded: the CA lives under {dataDir}/certificates with its keys 0600, and certificates point at the hub for their CRL', async () => {
    const c = await open('embedded');
    expect(c.service).toBeDefined();
    expect((await stat(join(dir, `hub-${n}`, 'certificates', 'ca', 'RSA.key'))).mode & 0o777).toBe(0o600);
    expect((await c.ops.caCertificates()).authorities.ECC.crlUrl).toBe('http://hub.example:8080/crl/ECC.crl');
  });

  it('standalone: refuses to start with the wrong secret, saying where', async () => {
    await expect(
      openHubCertificates({
        dataDir: dir,
        mode: { url: standalone.url, sharedSecret: 'x'.repeat(40) },
        publicBaseUrl: 'http://hub',
        log: silent,
      }),
    ).rejects.toThrow(new RegExp(`certificate service at ${standalone.url.replace(/[.]/g, '\\.')} is not usable`));
  });

  describe.each(['embedded', 'remote'] as const)('%s, as the TLS listener policy', (mode) => {
    it('trusts the root and both issuing CAs, binds a certificate to its device, and learns of its revocation at once', async () => {
      const c = await open(mode);
      expect(c.service === undefined).toBe(mode === 'remote');
      const policy = await clientCertificatePolicy(c, silent);
      try {
        const ca = await c.ops.caCertificates();
        expect(policy.caPems).toEqual([ca.rootPem, ca.authorities.RSA.certPem, ca.authorities.ECC.certPem]);

        const keys = await generateDeviceKey('P-256');
        const cn = `policy-${mode}`;
        const csrPem = await buildCsr({ keys, subject: { C: 'CN', ST: 'Shanghai', L: 'Shanghai', O: 'EnOS', OU: 'Edge', CN: cn } });
        const { certificate } = await c.ops.issue({
          csrPem,
          issueAuthority: 'ECC',
          binding: { orgId: 'o1', productKey: 'pk', deviceKey: cn, assetId: `asset-${mode}` },
        });
        expect(await policy.boundDevice(certificate.serialHex)).toEqual({ assetId: `asset-${mode}` });
        expect(policy.isRevoked(certificate.serialHex)).toBe(false);
        expect(await policy.boundDevice('7fd0')).toBeUndefined();

        const revoked: string[] = [];
        const unsubscribe = policy.onRevoked((serialHex) => revoked.push(serialHex));
        await c.ops.revoke({ certSN: certificate.certSN, reason: 1 });
        unsubscribe();
        expect(revoked).toEqual([certificate.serialHex]);
        // Node reports serials in upper case
        expect(policy.isRevoked(certificate.serialHex.toUpperCase())).toBe(true);
        expect(await policy.boundDevice(certificate.serialHex)).toBeUndefined();
      } finally {
        policy.close();
      }
    });
  });
});
