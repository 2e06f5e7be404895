import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateError, openCertificateAuthority, openCertificateService } from '../src/index.js';
import {
  binding,
  certText,
  failIfMissing,
  inCi,
  missingMessage,
  missingTools,
  opensslCsr,
  opensslKey,
  opensslVerify,
  run,
  runOk,
  subject,
  tempDir,
} from './helpers.js';

/** The CA store: what first start generates (read back by openssl), key file modes, operator-supplied CAs. */
const missing = missingTools('openssl');

describe.skipIf(missing.length > 0 && !inCi)(
  `the certificate authority${missing.length > 0 ? ` (skipped: ${missingMessage(missing)})` : ''}`,
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;

    beforeAll(async () => {
      failIfMissing(missing);
      dir = await tempDir();
    });
    afterAll(async () => {
      await dir?.remove();
    });

    it('generates on first start a 10-year RSA-2048 root and RSA/ECC issuing CAs within it (openssl reads them back)', async () => {
      const dataDir = join(dir.path, 'generated');
      const ca = await openCertificateAuthority({ dataDir, subject: { O: 'EnOS' } });
      const root = await certText(ca.root.certPem);
      expect(root).toMatch(/Issuer: CN=EdgeHub Root CA,OU=EnOS CA,O=EnOS,L=Shanghai,ST=Shanghai,C=CN/);
      expect(root).toMatch(/Subject: CN=EdgeHub Root CA,OU=EnOS CA,O=EnOS,L=Shanghai,ST=Shanghai,C=CN/);
      expect(root).toMatch(/Public-Key: \(2048 bit\)/);
      expect(root).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
      expect(root).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE\n/);
      expect(root).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
      expect(root).toMatch(/X509v3 Subject Key Identifier/);
      const years = (ca.root.cert.notAfter.getTime() - ca.root.cert.notBefore.getTime()) / (365.25 * 86_400_000);
      expect(years).toBeGreaterThan(9.99);
      expect(years).toBeLessThan(10.01);

      for (const [name, key] of [
        ['RSA', /Public-Key: \(2048 bit\)\s+Modulus/],
        ['ECC', /Public-Key: \(256 bit\)[\s\S]*NIST CURVE: P-256/],
      ] as const) {
        const issuing = ca.issuers[name];
        const text = await certText(issuing.certPem);
        expect(text).toMatch(key);
        expect(text).toMatch(new RegExp(`Subject: CN=EdgeHub ${name} CA,OU=EnOS CA,O=EnOS,L=Shanghai,ST=Shanghai,C=CN`));
        expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
        expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
        expect(text).toMatch(/X509v3 Authority Key Identifier/);
        expect(issuing.cert.notAfter.getTime()).toBeLessThanOrEqual(ca.root.cert.notAfter.getTime());
        expect(issuing.cert.notBefore.getTime()).toBeGreaterThanOrEqual(ca.root.cert.notBefore.getTime());
        const rootFile = join(dir.path, 'gen-root.pem');
        await writeFile(rootFile, ca.root.certPem);
        const v = await run('openssl', ['verify', '-CAfile', rootFile, '-purpose', 'any'], { input: issuing.certPem });
        expect(v.stdout).toMatch(/OK/);
      }
      expect(ca.subjectRules).toEqual({ C: 'CN', ST: 'Shanghai', O: 'EnOS' });
    });

    it('writes private keys 0600 in a 0700 directory, and reuses the CA on the next start', async () => {
      const dataDir = join(dir.path, 'modes');
      const first = await openCertificateAuthority({ dataDir });
      const mode = async (p: string) => (await stat(join(dataDir, p))).mode & 0o777;
      expect(await mode('')).toBe(0o700);
      expect(await mode('ca')).toBe(0o700);
      for (const key of ['root.key', 'RSA.key', 'ECC.key']) expect(await mode(join('ca', key))).toBe(0o600);
      expect(await readFile(join(dataDir, 'ca', 'RSA.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      const second = await openCertificateAuthority({ dataDir });
      expect(second.root.certPem).toBe(first.root.certPem);
      expect(second.issuers.RSA.certPem).toBe(first.issuers.RSA.certPem);
      expect(second.issuers.ECC.certPem).toBe(first.issuers.ECC.certPem);
    });

    describe('operator-supplied CA (PEM files made by openssl)', () => {
      let files: { rootCert: string; RSA: { cert: string; key: string }; ECC: { cert: string; key: string } };

      beforeAll(async () => {
        const d = join(dir.path, 'operator');
        await mkdir(d, { recursive: true });
        const root = { key: join(d, 'root.key'), cert: join(d, 'root.crt') };
        await runOk('openssl', [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          root.key,
          '-out',
          root.cert,
          '-days',
          '3650',
          '-subj',
          '/C=DE/ST=Berlin/L=Berlin/O=Acme Devices/OU=PKI/CN=Acme Root',
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign',
        ]);
        const ext = join(d, 'ext.cnf');
        await writeFile(
          ext,
          '[v3_ca]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
        );
        const issuing = async (name: string, newkey: string[]) => {
          const key = join(d, `${name}.key`);
          const csr = join(d, `${name}.csr`);
          const cert = join(d, `${name}.crt`);
          await runOk('openssl', [
            'req',
            '-new',
            ...newkey,
            '-nodes',
            '-keyout',
            key,
            '-out',
            csr,
            '-subj',
            `/C=DE/ST=Berlin/L=Berlin/O=Acme Devices/OU=PKI/CN=Acme ${name} CA`,
          ]);
          await runOk('openssl', [
            'x509',
            '-req',
            '-in',
            csr,
            '-CA',
            root.cert,
            '-CAkey',
            root.key,
            '-set_serial',
            '0x1234',
            '-days',
            '1000',
            '-extfile',
            ext,
            '-extensions',
            'v3_ca',
            '-out',
            cert,
          ]);
          return { key, cert };
        };
        const rsa = await issuing('RSA', ['-newkey', 'rsa:2048']);
        const ecc = await issuing('ECC', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
        // Keys in the traditional encodings too: PKCS#1 for RSA, SEC1 for EC.
        const rsaTraditional = join(d, 'RSA-pkcs1.key');
        await runOk('openssl', ['pkey', '-in', rsa.key, '-traditional', '-out', rsaTraditional]);
        const eccSec1 = join(d, 'ECC-sec1.key');
        await runOk('openssl', ['ec', '-in', ecc.key, '-out', eccSec1]);
        expect(await readFile(rsaTraditional, 'utf8')).toMatch(/BEGIN RSA PRIVATE KEY/);
        expect(await readFile(eccSec1, 'utf8')).toMatch(/BEGIN EC PRIVATE KEY/);
        files = { rootCert: root.cert, RSA: { cert: rsa.cert, key: rsaTraditional }, ECC: { cert: ecc.cert, key: eccSec1 } };
      });

      it('issues from the operator CA; CSRs must match its C/ST/O; nothing is generated', async () => {
        const dataDir = join(dir.path, 'operator-data');
        const service = await openCertificateService({ dataDir, files });
        try {
          expect(service.authority.source).toBe('operator');
          expect(service.authority.subjectRules).toEqual({ C: 'DE', ST: 'Berlin', O: 'Acme Devices' });
          const key = await opensslKey(dir.path, 'op-device', { curve: 'prime256v1' });
          const refused = await service
            .issue({ csrPem: await opensslCsr(key, subject('enos-subject')), issueAuthority: 'ECC', binding: binding() })
            .catch((e: unknown) => e);
          expect((refused as CertificateError).code).toBe('csr.subject_mismatch');
          for (const authority of ['RSA', 'ECC'] as const) {
            const r = await service.issue({
              csrPem: await opensslCsr(key, subject(`acme-device-${authority}`, { C: 'DE', ST: 'Berlin', O: 'Acme Devices' })),
              issueAuthority: authority,
              binding: binding(),
            });
            const v = await opensslVerify(dir.path, {
              root: await readFile(files.rootCert, 'utf8'),
              issuing: await readFile(files[authority].cert, 'utf8'),
              cert: r.certificate.certPem,
            });
            expect(v.stdout + v.stderr).toMatch(/: OK/);
          }
          await expect(stat(join(dataDir, 'ca'))).rejects.toThrow();
        } finally {
          await service.close();
        }
      });

      it("refuses unusable material: a key that is not the certificate's, keys of the wrong type, a non-CA root", async () => {
        const code = (p: Promise<unknown>) =>
          p.then(
            () => 'ok',
            (e: unknown) => (e instanceof CertificateError ? `${e.code}: ${e.message}` : String(e)),
          );
        const dataDir = join(dir.path, 'unused');
        expect(
          await code(openCertificateAuthority({ dataDir, files: { ...files, RSA: { cert: files.RSA.cert, key: files.ECC.key } } })),
        ).toMatch(/^ca\.invalid: .*RSA key/);
        expect(await code(openCertificateAuthority({ dataDir, files: { ...files, RSA: files.ECC, ECC: files.RSA } }))).toMatch(
          /^ca\.invalid/,
        );
        expect(await code(openCertificateAuthority({ dataDir, files: { ...files, rootCert: files.RSA.cert } }))).toMatch(
          /^ca\.invalid: .*not signed by the root/,
        );
        const otherKey = await opensslKey(dir.path, 'other-p256', { curve: 'prime256v1' });
        expect(
          await code(openCertificateAuthority({ dataDir, files: { ...files, ECC: { cert: files.ECC.cert, key: otherKey } } })),
        ).toMatch(/^ca\.invalid: .*does not belong/);
      });
    });
  },
);
