import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCertificateService, type CertificateService } from '@edgehub/certificate-service';
import {
  applyRequestBody,
  buildCsr,
  exportPrivateKeyPem,
  generateDeviceKey,
  issueAuthorityOf,
  renewRequestBody,
  shouldRenew,
  type CsrSubject,
  type DeviceKeyKind,
} from '@edgehub/shared/device-certificate';

/**
 * The device-side helper of shared/ (docs/ENOS-PROTOCOL.md §6): its CSRs are judged by openssl, not by
 * the library that made them, and signed by the hub's certificate service.
 */
const inCi = process.env['CI'] === 'true';
const opensslMissing = spawnSync('openssl', ['version'], { stdio: 'ignore' }).error !== undefined;

function openssl(args: string[], input: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(new Error(err.message, { cause: err }));
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, out: stdout + stderr });
    });
    child.stdin?.end(input);
  });
}

const subject = (CN: string): CsrSubject => ({ C: 'CN', ST: 'Shanghai', L: 'Shanghai', O: 'EnOS', OU: 'Edge Service', CN });
const DAY = 86_400_000;

describe.skipIf(opensslMissing && !inCi)(`device certificate helper${opensslMissing ? ' (skipped: openssl not on PATH)' : ''}`, () => {
  let dir: string;
  let service: CertificateService;
  let clock = new Date();

  beforeAll(async () => {
    if (opensslMissing) throw new Error('CI=true but openssl is not on PATH');
    dir = await mkdtemp(join(tmpdir(), 'device-cert-'));
    service = await openCertificateService({ dataDir: dir, now: () => clock });
  });
  afterAll(async () => {
    await service?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe.each([
    ['P-256', /ASN1 OID: prime256v1|NIST CURVE: P-256/, /ecdsa-with-SHA256/, 'ECC'],
    ['RSA-2048', /Public-Key: \(2048 bit\)/, /sha256WithRSAEncryption/, 'RSA'],
  ] as const)('%s', (kind: DeviceKeyKind, keyText, signature, authority) => {
    let csr: string;
    let keyPem: string;
    const cn = `helper-${kind}`;

    beforeAll(async () => {
      const keys = await generateDeviceKey(kind);
      csr = await buildCsr({ keys, subject: subject(cn) });
      keyPem = await exportPrivateKeyPem(keys);
      expect(issueAuthorityOf(keys)).toBe(authority);
    });

    it('builds a CSR whose self-signature openssl req -verify accepts, with the EnOS subject in quickstart order', async () => {
      expect(csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n$/);
      const verify = await openssl(['req', '-verify', '-noout'], csr);
      expect(verify.out).toMatch(/verify OK/);
      expect(verify.code).toBe(0);
      const text = (await openssl(['req', '-noout', '-text', '-nameopt', 'oneline'], csr)).out;
      expect(text).toMatch(/Subject: C = CN, ST = Shanghai, L = Shanghai, O = EnOS, OU = Edge Service, CN = helper-/);
      expect(text).toMatch(keyText);
      expect(text).toMatch(signature);
      // no attributes, no requested extensions: the CA decides them
      expect(text).toMatch(/Attributes:\s*\(none\)/);
      expect(text).not.toMatch(/X509v3/);
    });

    it('exports the private key as PKCS#8 PEM that belongs to the CSR', async () => {
      expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      const fromKey = await openssl(['pkey', '-pubout'], keyPem);
      const fromCsr = await openssl(['req', '-noout', '-pubkey'], csr);
      expect(fromKey.code).toBe(0);
      expect(fromKey.out).toBe(fromCsr.out);
    });

    it('is signed by the certificate service from the matching authority, and shouldRenew turns true at two thirds of the lifetime', async () => {
      const issuedAt = new Date('2031-03-01T00:00:00Z');
      clock = issuedAt;
      const r = await service.issue({
        csrPem: csr,
        issueAuthority: authority,
        validDay: 30,
        binding: { orgId: 'o1', productKey: 'pk', deviceKey: cn, assetId: cn },
      });
      expect(r.certificate.commonName).toBe(cn);
      const cert = r.certificate.certPem;
      const from = r.certificate.notBefore.getTime();
      const lifetime = r.certificate.notAfter.getTime() - from;
      expect(shouldRenew(cert, new Date(from + DAY))).toBe(false);
      expect(shouldRenew(cert, new Date(from + lifetime * 0.66))).toBe(false);
      expect(shouldRenew(cert, new Date(from + lifetime * 0.67))).toBe(true);
      expect(shouldRenew(cert, new Date(from + lifetime + DAY))).toBe(true);
      // a device clock before notBefore (no RTC after a boot) is no reason to renew
      expect(shouldRenew(cert, new Date('1970-01-02T00:00:00Z'))).toBe(false);
    });
  });

  it('refuses a subject EnOS would refuse (§6: all six fields, at most 64 characters, C of 2)', async () => {
    const keys = await generateDeviceKey('P-256');
    await expect(buildCsr({ keys, subject: { ...subject('x'), OU: '' } })).rejects.toThrow(/OU is required/);
    await expect(buildCsr({ keys, subject: { ...subject('x'), CN: 'x'.repeat(65) } })).rejects.toThrow(/CN is longer than 64/);
    await expect(buildCsr({ keys, subject: { ...subject('x'), C: 'CHN' } })).rejects.toThrow(/two-letter/);
    await expect(generateDeviceKey('P-384' as DeviceKeyKind)).rejects.toThrow(RangeError);
  });

  it('builds the apply and renew bodies of §7.3', () => {
    expect(applyRequestBody('PEM')).toEqual({ csr: 'PEM' });
    expect(applyRequestBody('PEM', 365, 'ECC')).toEqual({ csr: 'PEM', validDay: 365, issueAuthority: 'ECC' });
    expect(() => applyRequestBody('PEM', 0)).toThrow(RangeError);
    // certSn is an int on the wire (§7.3), unless it would not survive JSON as one
    expect(renewRequestBody('52739')).toEqual({ certSn: 52739 });
    expect(renewRequestBody('123456789012345678901234', { csrPem: 'PEM', validDay: 30 })).toEqual({
      certSn: '123456789012345678901234',
      csr: 'PEM',
      validDay: 30,
    });
  });
});
