import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCertificateService, type CertificateService, type IssueResult } from '../src/index.js';
import {
  binding,
  certSubject,
  certText,
  certtoolCsr,
  failIfMissing,
  inCi,
  missingMessage,
  missingTools,
  opensslCsr,
  opensslKey,
  opensslVerify,
  runOk,
  subject,
  subjectMap,
  tempDir,
} from './helpers.js';

/**
 * Issue 5 acceptance: CSRs made by `openssl req` (RSA-2048, P-256) and GnuTLS `certtool` are
 * issued, and `openssl verify -CAfile root -untrusted issuing -purpose sslclient` accepts each.
 * The profile is checked in openssl's own words, not through the library that built it.
 */
const missing = missingTools('openssl');
const certtoolMissing = missingTools('certtool');

describe.skipIf(missing.length > 0 && !inCi)(
  `issuing device certificates from real CSRs${missing.length > 0 ? ` (skipped: ${missingMessage(missing)})` : ''}`,
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let service: CertificateService;
    let rsaKey: string;
    let ecKey: string;

    beforeAll(async () => {
      failIfMissing([...missing, ...certtoolMissing]);
      dir = await tempDir();
      // Keys generated once per file: RSA generation is the slow part of this suite.
      [service, rsaKey, ecKey] = await Promise.all([
        openCertificateService({ dataDir: `${dir.path}/data`, publicBaseUrl: 'http://certs.example:8081' }),
        opensslKey(dir.path, 'rsa', { rsa: 2048 }),
        opensslKey(dir.path, 'p256', { curve: 'prime256v1' }),
      ]);
    });
    afterAll(async () => {
      await service?.close();
      await dir?.remove();
    });

    async function expectVerified(r: IssueResult): Promise<void> {
      const v = await opensslVerify(dir.path, { root: r.rootCertPem, issuing: r.caCertPem, cert: r.certificate.certPem });
      expect(v.stderr + v.stdout).toMatch(/: OK/);
      expect(v.code).toBe(0);
    }

    it('issues an openssl RSA-2048 CSR from the RSA CA: openssl verify -purpose sslclient accepts it', async () => {
      const csrPem = await opensslCsr(rsaKey, subject('rsa-device'));
      const r = await service.issue({ csrPem, issueAuthority: 'RSA', binding: binding() });
      await expectVerified(r);
      const text = await certText(r.certificate.certPem);
      expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
      expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
      expect(text).toMatch(/X509v3 Extended Key Usage:\s*\n\s+TLS Web Client Authentication\n/);
      expect(text).toMatch(/URI:http:\/\/certs\.example:8081\/crl\/RSA\.crl/);
      expect(text).toMatch(/X509v3 Subject Key Identifier/);
      // AKI = the issuing CA's SKI
      const issuingSki = /Subject Key Identifier:\s*\n\s+([0-9A-F:]+)/.exec(await certText(r.caCertPem))?.[1];
      expect(/Authority Key Identifier:\s*\n\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1]).toBe(issuingSki);
      // certSN is the serial, in decimal (§6: certSN 32720 = 0x7FD0)
      const serial = /Serial Number:\s*(?:(\d+) \(0x([0-9a-f]+)\)|\n\s+([0-9a-f:]+))/.exec(text)!;
      const hex = (serial[2] ?? serial[3]!).replace(/:/g, '');
      expect(BigInt('0x' + hex).toString()).toBe(r.certificate.certSN);
      expect(BigInt('0x' + hex).toString(16)).toBe(r.certificate.serialHex);
      expect(Number.isSafeInteger(Number(r.certificate.certSN))).toBe(true);
      expect(r.certificate).toMatchObject({ status: 0, issueAuthority: 'RSA', commonName: 'rsa-device', validDay: 730 });
    });

    it('issues an openssl P-256 CSR from the ECC CA (ECDSA signature, digitalSignature only)', async () => {
      const csrPem = await opensslCsr(ecKey, subject('ecc-device'));
      const r = await service.issue({ csrPem, issueAuthority: 'ECC', binding: binding() });
      await expectVerified(r);
      const text = await certText(r.certificate.certPem);
      expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
      expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
      expect(text).toMatch(/URI:http:\/\/certs\.example:8081\/crl\/ECC\.crl/);
      expect(r.chainPem).toContain(r.caCertPem.trim());
      expect(r.chainPem).toContain(r.rootCertPem.trim());
    });

    it('accepts P-384 keys and SHA-384/512 signatures', async () => {
      const p384 = await opensslKey(dir.path, 'p384', { curve: 'secp384r1' });
      const r1 = await service.issue({
        csrPem: await opensslCsr(p384, subject('p384-device'), ['-sha384']),
        issueAuthority: 'ECC',
        binding: binding(),
      });
      await expectVerified(r1);
      const r2 = await service.issue({ csrPem: await opensslCsr(rsaKey, subject('sha512-device'), ['-sha512']), binding: binding() });
      await expectVerified(r2);
      expect(r2.certificate.issueAuthority).toBe('RSA'); // EnOS default (§7.3)
    });

    it.skipIf(certtoolMissing.length > 0 && !inCi).each([['rsa' as const], ['ecdsa' as const]])(
      'issues a GnuTLS certtool %s CSR; the subject keeps the CSR order and values',
      async (kind) => {
        const { csrPem } = await certtoolCsr(dir.path, `gnutls-${kind}`, kind, {
          cn: `gnutls-${kind}-device`,
          unit: 'Edge Service',
          organization: 'EnOS',
          locality: 'Shanghai',
          state: 'Shanghai',
          country: 'CN',
        });
        const r = await service.issue({ csrPem, issueAuthority: kind === 'rsa' ? 'RSA' : 'ECC', binding: binding() });
        await expectVerified(r);
        const requested = await certSubject(csrPem, 'req');
        const issued = await certSubject(r.certificate.certPem, 'x509');
        // Same attributes (compared by attribute, not by string) …
        expect(subjectMap(issued)).toEqual(subjectMap(requested));
        expect(subjectMap(issued)).toMatchObject({
          C: 'CN',
          ST: 'Shanghai',
          L: 'Shanghai',
          O: 'EnOS',
          OU: 'Edge Service',
          CN: `gnutls-${kind}-device`,
        });
        // … in the CSR's own order (§6: subject copied verbatim).
        expect(issued).toBe(requested);
      },
    );

    it('ignores requested extensions: a CSR asking for CA:TRUE, keyCertSign and SANs gets a plain client leaf', async () => {
      const csrPem = await opensslCsr(rsaKey, subject('greedy-device'), [
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-addext',
        'subjectAltName=DNS:hub.example.com,IP:10.0.0.1',
        '-addext',
        'extendedKeyUsage=serverAuth',
      ]);
      expect(await runReqText(csrPem)).toMatch(/CA:TRUE/); // the CSR really asks for it
      const r = await service.issue({ csrPem, binding: binding() });
      const text = await certText(r.certificate.certPem);
      expect(text).toMatch(/CA:FALSE/);
      expect(text).not.toMatch(/CA:TRUE/);
      expect(text).not.toMatch(/Certificate Sign/);
      expect(text).not.toMatch(/Subject Alternative Name|hub\.example\.com|10\.0\.0\.1/);
      expect(text).not.toMatch(/TLS Web Server Authentication/);
      await expectVerified(r);
    });

    it('gives validDay days of validity, capped at the issuing CA lifetime', async () => {
      const before = Date.now();
      const r = await service.issue({
        csrPem: await opensslCsr(ecKey, subject('ten-days')),
        validDay: 10,
        issueAuthority: 'ECC',
        binding: binding(),
      });
      const days = (r.certificate.notAfter.getTime() - before) / 86_400_000;
      expect(days).toBeGreaterThan(9.99);
      expect(days).toBeLessThan(10.01);

      const long = await service.issue({
        csrPem: await opensslCsr(ecKey, subject('forever')),
        validDay: 100 * 365,
        issueAuthority: 'ECC',
        binding: binding(),
      });
      expect(long.certificate.notAfter.getTime()).toBe(service.authority.issuers.ECC.cert.notAfter.getTime());
      expect(long.certificate.validDay).toBe(36500);
      await expectVerified(long);
    });

    it('accepts the old "NEW CERTIFICATE REQUEST" PEM label and text around the block', async () => {
      const csrPem = await opensslCsr(ecKey, subject('old-label'));
      const relabelled =
        'Certificate Request:\n    (openssl -text output)\n' + csrPem.replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST');
      const r = await service.issue({ csrPem: relabelled, issueAuthority: 'ECC', binding: binding() });
      expect(r.certificate.commonName).toBe('old-label');
    });
  },
);

function runReqText(csrPem: string): Promise<string> {
  return runOk('openssl', ['req', '-noout', '-text'], { input: csrPem });
}
