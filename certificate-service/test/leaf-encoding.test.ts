import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { x509 } from '../src/crypto.js';
import { CertificateError, openCertificateService, type CertificateService, type IssueAuthority } from '../src/index.js';
import {
  binding,
  failIfMissing,
  inCi,
  missingMessage,
  missingTools,
  opensslCsr,
  opensslKey,
  opensslVerify,
  pemOf,
  runOk,
  subject,
  tempDir,
} from './helpers.js';

/**
 * Issuance reads a CSR with its own DER reader, imports the common key types from their numbers
 * and writes the certificate by hand (docs/BENCHMARKS.md, "Where the microseconds per certificate
 * go"). These tests hold that path to what the schema-driven libraries produced before, and to the
 * general path for the keys it does not take.
 */
const missing = missingTools('openssl');

const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

describe.skipIf(missing.length > 0 && !inCi)(
  `certificate encoding and CSR key import${missing.length > 0 ? ` (skipped: ${missingMessage(missing)})` : ''}`,
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let service: CertificateService;
    let rsaKey: string;
    let ecKey: string;
    let p384Key: string;

    beforeAll(async () => {
      failIfMissing(missing);
      dir = await tempDir();
      [service, rsaKey, ecKey, p384Key] = await Promise.all([
        openCertificateService({ dataDir: join(dir.path, 'data'), publicBaseUrl: 'http://certs.example:8081' }),
        opensslKey(dir.path, 'rsa', { rsa: 2048 }),
        opensslKey(dir.path, 'p256', { curve: 'prime256v1' }),
        opensslKey(dir.path, 'p384', { curve: 'secp384r1' }),
      ]);
    });
    afterAll(async () => {
      await service?.close();
      await dir?.remove();
    });

    /** The same certificate made by @peculiar/x509, the generator the service used before: RSA PKCS#1 v1.5 signatures are deterministic. */
    async function libraryLeaf(
      csrPem: string,
      authority: IssueAuthority,
      serialHex: string,
      notBefore: Date,
      notAfter: Date,
      rsa: boolean,
    ) {
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      const issuer = service.authority.issuers[authority];
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serialHex.length % 2 === 0 ? serialHex : `0${serialHex}`,
        subject: csr.subjectName,
        issuer: issuer.cert.subjectName,
        notBefore,
        notAfter,
        publicKey: csr.publicKey,
        signingKey: issuer.signingKey as never,
        signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0), true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
          await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
          new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
          new x509.CRLDistributionPointsExtension([service.crlUrl(authority)]),
        ],
      });
      return Buffer.from(cert.rawData);
    }

    it.each([
      ['an RSA-2048', 'rsa'],
      ['a P-256', 'p256'],
      ['a P-384', 'p384'],
    ])('encodes the device certificate of %s CSR byte for byte as @peculiar/x509 did', async (_name, kind) => {
      const key = kind === 'rsa' ? rsaKey : kind === 'p256' ? ecKey : p384Key;
      const csrPem = await opensslCsr(key, subject(`same-bytes-${kind}`, { OU: 'Quote "q", comma; <angle>' }));
      const r = await service.issue({ csrPem, issueAuthority: 'RSA', validDay: 30, binding: binding() });
      const c = r.certificate;
      expect(c.notBefore.getMilliseconds()).toBe(0);
      expect(c.subject).toBe(new x509.Pkcs10CertificateRequest(csrPem).subject);
      const expected = await libraryLeaf(csrPem, 'RSA', c.serialHex, c.notBefore, c.notAfter, kind === 'rsa');
      expect(der(c.certPem).toString('hex')).toBe(expected.toString('hex'));
      expect(c.certPem).toBe(new x509.X509Certificate(expected).toString('pem'));
    });

    it('issues for a CSR whose EC point is compressed (imported the general way) and openssl verifies it', async () => {
      const compressed = join(dir.path, 'compressed.key');
      await runOk('openssl', ['ec', '-in', ecKey, '-conv_form', 'compressed', '-out', compressed]);
      const csrPem = await opensslCsr(compressed, subject('compressed-point'));
      const text = await runOk('openssl', ['req', '-noout', '-text'], { input: csrPem });
      expect(text).toMatch(/pub:\s*\n\s*0[23]:/);
      const r = await service.issue({ csrPem, issueAuthority: 'ECC', binding: binding() });
      const v = await opensslVerify(dir.path, { root: r.rootCertPem, issuing: r.caCertPem, cert: r.certificate.certPem });
      expect(v.code, v.stderr + v.stdout).toBe(0);
    });

    it('refuses a CSR whose EC point is not on the curve, as the general import does', async () => {
      const csrPem = await opensslCsr(ecKey, subject('off-curve'));
      const bytes = der(csrPem);
      const spki = createPublicKey(await runOk('openssl', ['pkey', '-in', ecKey, '-pubout'])).export({ type: 'spki', format: 'der' });
      const at = bytes.indexOf(spki);
      expect(at).toBeGreaterThan(0);
      bytes[at + spki.length - 1]! ^= 0x01; // the last byte of y: the point leaves the curve
      const err: unknown = await service
        .issue({ csrPem: pemOf(bytes, 'CERTIFICATE REQUEST'), binding: binding() })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CertificateError);
      expect((err as CertificateError).code).toBe('csr.unsupported_algorithm');
    });

    it('refuses BER the DER reader does not take (an indefinite length) as malformed', async () => {
      const bytes = der(await opensslCsr(ecKey, subject('indefinite')));
      expect(bytes[1]).toBe(0x82); // SEQUENCE, two length octets
      const ber = Buffer.concat([Buffer.from([0x30, 0x80]), bytes.subarray(4), Buffer.from([0, 0])]);
      const err: unknown = await service.issue({ csrPem: pemOf(ber, 'CERTIFICATE REQUEST'), binding: binding() }).catch((e: unknown) => e);
      expect((err as CertificateError).code).toBe('csr.malformed');
    });
  },
);
