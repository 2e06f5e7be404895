import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import { CertificateError, openCertificateService, type CertificateService, type RevocationEvent } from '../src/index.js';
import {
  binding,
  derCrlToPem,
  failIfMissing,
  inCi,
  missingMessage,
  missingTools,
  opensslCsr,
  opensslKey,
  run,
  subject,
  tempDir,
} from './helpers.js';

/**
 * Issue 9 item 10: CN uniqueness is per organization, names with control characters are refused,
 * a renewal keeps its CN, a renewed certificate is revoked as superseded once its grace period is
 * over, a certificate whose notBefore is ahead is not "valid", and the root publishes a CRL so a
 * full-chain CRL check (`openssl verify -crl_check_all`) completes.
 */
const missing = missingTools('openssl');
const HOUR = 3_600_000;

async function rejection(p: Promise<unknown>): Promise<CertificateError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CertificateError);
  return err as CertificateError;
}

describe.skipIf(missing.length > 0 && !inCi)(
  `names, renewal and supersession${missing.length > 0 ? ` (skipped: ${missingMessage(missing)})` : ''}`,
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let service: CertificateService;
    let ecKey: string;
    let rsaKey: string;
    let clock = Date.now();
    const now = () => new Date(clock);

    beforeAll(async () => {
      failIfMissing(missing);
      dir = await tempDir();
      [ecKey, rsaKey] = await Promise.all([
        opensslKey(dir.path, 'p256', { curve: 'prime256v1' }),
        opensslKey(dir.path, 'rsa', { rsa: 2048 }),
      ]);
      service = await openCertificateService({ dataDir: join(dir.path, 'data'), now, supersededGraceHours: 24, supersededSweepMs: 0 });
    });
    afterAll(async () => {
      await service?.close();
      await dir?.remove();
    });

    const org = (orgId: string, tag: string) => ({ ...binding(tag), orgId });

    it('keeps a CN unique within an organization only: another organization may use the same name', async () => {
      const cn = `shared-name-${Date.now()}`;
      await service.issue({ csrPem: await opensslCsr(ecKey, subject(cn)), issueAuthority: 'ECC', binding: org('org-one', 'a') });
      const other = await service.issue({
        csrPem: await opensslCsr(ecKey, subject(cn)),
        issueAuthority: 'ECC',
        binding: org('org-two', 'b'),
      });
      expect(other.certificate.commonName).toBe(cn);
      const again = await rejection(
        service.issue({ csrPem: await opensslCsr(ecKey, subject(cn)), issueAuthority: 'ECC', binding: org('org-one', 'c') }),
      );
      expect(again.code).toBe('csr.duplicate_cn');
    });

    it('refuses a CN holding a control character (openssl) or a NUL (a hand-made CSR)', async () => {
      const before = await service.list();
      const ctrl = await rejection(
        service.issue({ csrPem: await opensslCsr(ecKey, subject('dev\u0001ice')), issueAuthority: 'ECC', binding: binding('ctrl') }),
      );
      expect(ctrl.code).toBe('csr.subject_invalid');
      expect(ctrl.message).toMatch(/control character/);

      const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
      x509.cryptoProvider.set(webcrypto as never);
      const keys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
      const nul = await x509.Pkcs10CertificateRequestGenerator.create({
        name: new x509.Name([
          { C: ['CN'] },
          { ST: ['Shanghai'] },
          { L: ['Shanghai'] },
          { O: ['EnOS'] },
          { OU: ['Edge'] },
          { CN: ['victim\u0000.attacker'] },
        ]),
        keys: keys as never,
        signingAlgorithm: alg,
      });
      const nulErr = await rejection(service.issue({ csrPem: nul.toString('pem'), issueAuthority: 'ECC', binding: binding('nul') }));
      expect(nulErr.code).toBe('csr.subject_invalid');
      expect(await service.list()).toHaveLength(before.length);
    });

    it('refuses a renewal whose CSR names another CN (csr.cn_changed), with a new key or the old one', async () => {
      const first = await service.issue({
        csrPem: await opensslCsr(ecKey, subject(`keep-${Date.now()}`)),
        issueAuthority: 'ECC',
        binding: binding('keep'),
      });
      const renamed = await rejection(
        service.renew({ certSN: first.certificate.certSN, csrPem: await opensslCsr(rsaKey, subject(`other-${Date.now()}`)) }),
      );
      expect(renamed.code).toBe('csr.cn_changed');
      const sameName = await service.renew({
        certSN: first.certificate.certSN,
        csrPem: await opensslCsr(rsaKey, subject(first.certificate.commonName)),
        issueAuthority: 'RSA',
      });
      expect(sameName.certificate.commonName).toBe(first.certificate.commonName);
    });

    it('revokes a renewed certificate with reason 4 (superseded) once the grace period is over, not before', async () => {
      const events: RevocationEvent[] = [];
      const off = service.onRevoked((e) => events.push(e));
      const start = clock;
      try {
        const old = await service.issue({
          csrPem: await opensslCsr(ecKey, subject(`super-${Date.now()}`)),
          issueAuthority: 'ECC',
          binding: binding('super'),
        });
        const renewed = await service.renew({ certSN: old.certificate.certSN });
        clock += 23 * HOUR;
        expect(await service.retireSuperseded()).toBe(0);
        expect((await service.get({ certSN: old.certificate.certSN }))?.status).toBe(0);

        clock += 2 * HOUR;
        expect(await service.retireSuperseded()).toBeGreaterThanOrEqual(1);
        expect(await service.get({ certSN: old.certificate.certSN })).toMatchObject({ status: 1, revocationReason: 4 });
        expect((await service.get({ certSN: renewed.certificate.certSN }))?.status).toBe(0);
        expect(events.filter((e) => e.certSN === old.certificate.certSN)).toMatchObject([{ reason: 4 }]);
        expect(service.isRevoked(old.certificate.serialHex)).toBe(true);
      } finally {
        off();
        clock = start;
      }
    });

    it('reports a certificate whose notBefore is still ahead as 3 (not yet valid), never as valid', async () => {
      const issued = await service.issue({
        csrPem: await opensslCsr(ecKey, subject(`early-${Date.now()}`)),
        issueAuthority: 'ECC',
        binding: binding('early'),
      });
      const saved = clock;
      clock -= HOUR; // the clock went back: notBefore (issuance minus a few minutes) is now ahead
      try {
        expect((await service.get({ certSN: issued.certificate.certSN }))?.status).toBe(3);
        expect((await service.list({ status: 0 })).map((c) => c.certSN)).not.toContain(issued.certificate.certSN);
      } finally {
        clock = saved;
      }
      expect((await service.get({ certSN: issued.certificate.certSN }))?.status).toBe(0);
    });

    it('publishes a root CRL: openssl verify -crl_check_all accepts a valid certificate with it and fails without it', async () => {
      const issued = await service.issue({ csrPem: await opensslCsr(rsaKey, subject(`chain-${Date.now()}`)), binding: binding('chain') });
      const file = async (name: string, text: string) => {
        const path = join(dir.path, name);
        await writeFile(path, text);
        return path;
      };
      const root = await file('root.pem', issued.rootCertPem);
      const issuing = await file('issuing.pem', issued.caCertPem);
      const leaf = await file('leaf.pem', issued.certificate.certPem);
      const issuingCrl = await file('rsa-crl.pem', await derCrlToPem((await service.crl('RSA')).der));
      const rootCrl = await file('root-crl.pem', await derCrlToPem((await service.crl('root')).der));

      const withRoot = await run('openssl', [
        'verify',
        '-crl_check_all',
        '-CAfile',
        root,
        '-untrusted',
        issuing,
        '-CRLfile',
        issuingCrl,
        '-CRLfile',
        rootCrl,
        leaf,
      ]);
      expect(withRoot.stdout + withRoot.stderr).toMatch(/: OK/);
      expect(withRoot.code).toBe(0);
      const without = await run('openssl', [
        'verify',
        '-crl_check_all',
        '-CAfile',
        root,
        '-untrusted',
        issuing,
        '-CRLfile',
        issuingCrl,
        leaf,
      ]);
      expect(without.code).not.toBe(0);
      expect(without.stdout + without.stderr).toMatch(/unable to get certificate CRL/);
      // signed by the root itself
      const signed = await run('openssl', ['crl', '-in', rootCrl, '-CAfile', root, '-noout']);
      expect(signed.stdout + signed.stderr).toMatch(/verify OK/);
    });
  },
);
