import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCertificateService, type CertificateService } from '../src/index.js';
import { binding, failIfMissing, inCi, missingMessage, missingTools, opensslCsr, opensslKey, runOk, subject, tempDir } from './helpers.js';

/** A restart keeps everything (same CA, same records, same revocations); time turns valid into expired (§6 status 2). */
const missing = missingTools('openssl');

describe.skipIf(missing.length > 0 && !inCi)(
  `certificate lifecycle across restarts and time${missing.length > 0 ? ` (skipped: ${missingMessage(missing)})` : ''}`,
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let ecKey: string;
    let clock = Date.now();
    const now = () => new Date(clock);
    let open: CertificateService | undefined;

    beforeAll(async () => {
      failIfMissing(missing);
      dir = await tempDir();
      ecKey = await opensslKey(dir.path, 'p256', { curve: 'prime256v1' });
    });
    afterAll(async () => {
      await open?.close();
      await dir?.remove();
    });

    const start = async () => (open = await openCertificateService({ dataDir: join(dir.path, 'data'), now }));

    it('persists across a restart: same CA, same records, revocations, CRL', async () => {
      const first = await start();
      const kept = await first.issue({ csrPem: await opensslCsr(ecKey, subject('kept')), issueAuthority: 'ECC', binding: binding() });
      const gone = await first.issue({ csrPem: await opensslCsr(ecKey, subject('gone')), issueAuthority: 'ECC', binding: binding() });
      await first.revoke({ certSN: gone.certificate.certSN, reason: 3 });
      const listed = await first.list();
      const ca = await first.caCertificates();
      await first.close();
      open = undefined;

      const second = await start();
      expect(await second.caCertificates()).toEqual(ca);
      expect(await second.list()).toEqual(listed);
      expect(await second.get({ certSN: kept.certificate.certSN })).toMatchObject({ status: 0, certPem: kept.certificate.certPem });
      expect(second.isRevoked(gone.certificate.serialHex)).toBe(true);
      expect(second.isRevoked(kept.certificate.serialHex)).toBe(false);
      // The CRL is rebuilt from the store at start.
      const crlFile = join(dir.path, 'after-restart.crl');
      await writeFile(crlFile, (await second.crl('ECC')).der);
      const text = await runOk('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']);
      expect(text).toContain(gone.certificate.serialHex.toUpperCase());
      expect(text).toMatch(/Affiliation Changed/);
      expect(text).not.toContain(kept.certificate.serialHex.toUpperCase());
      // The renewed-from CSR survived too.
      const renewed = await second.renew({ certSN: kept.certificate.certSN });
      expect(renewed.certificate.subject).toBe(kept.certificate.subject);
    });

    it('reports a certificate past notAfter as expired (2), and its CN becomes free', async () => {
      const service = open!;
      const device = binding();
      const short = await service.issue({
        csrPem: await opensslCsr(ecKey, subject('short-lived')),
        validDay: 1,
        issueAuthority: 'ECC',
        binding: device,
      });
      expect((await service.list({ binding: device })).map((c) => c.status)).toEqual([0]);
      clock += 2 * 86_400_000;
      expect((await service.list({ binding: device })).map((c) => c.status)).toEqual([2]);
      expect((await service.list({ status: 2 })).map((c) => c.certSN)).toContain(short.certificate.certSN);
      expect((await service.list({ status: 0 })).map((c) => c.certSN)).not.toContain(short.certificate.certSN);
      const other = await service.issue({
        csrPem: await opensslCsr(ecKey, subject('short-lived')),
        issueAuthority: 'ECC',
        binding: binding(),
      });
      expect(other.certificate.status).toBe(0);
      // Rotation jobs: "expiring within N days"
      const soon = await service.list({ expiresBefore: new Date(clock + 800 * 86_400_000), status: 0 });
      expect(soon.map((c) => c.certSN)).toContain(other.certificate.certSN);
    });
  },
);
