import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCertificateService, type CertificateService } from '../src/index.js';
import { runOk, tempDir } from './helpers.js';

/**
 * The CRLs are built on their first request, not while the service (or the hub embedding it)
 * starts (docs/BENCHMARKS.md, "Start-up"): a CRL fetched an hour after the start is dated then,
 * concurrent first requests share one build, and the CRL is still one openssl reads.
 */
describe('CRLs built on demand', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  let service: CertificateService | undefined;
  afterAll(async () => {
    await service?.close();
    await dir?.remove();
  });

  it('dates the first CRL at its first request, once for concurrent requests', async () => {
    dir = await tempDir();
    const started = Date.UTC(2026, 0, 1, 12, 0, 0);
    let clock = started;
    service = await openCertificateService({ dataDir: join(dir.path, 'data'), now: () => new Date(clock), crlLifetimeHours: 48 });
    clock = started + 3_600_000;
    const [a, b] = await Promise.all([service.crl('ECC'), service.crl('ECC')]);
    expect(a.thisUpdate.getTime()).toBe(started + 3_600_000);
    expect(b).toBe(a);
    expect((await service.crl('RSA')).thisUpdate.getTime()).toBe(started + 3_600_000);
    const path = join(dir.path, 'ecc.crl');
    await writeFile(path, a.der);
    const text = await runOk('openssl', ['crl', '-inform', 'DER', '-in', path, '-noout', '-lastupdate']);
    expect(text).toContain('Jan  1 13:00:00 2026 GMT');
  });
});
