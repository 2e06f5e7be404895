import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectCertificateService,
  RevocationSet,
  startCertificateServer,
  type CertificateOperations,
  type RunningCertificateServer,
} from '../src/index.js';
import { binding, failIfMissing, inCi, missingMessage, missingTools, opensslCsr, opensslKey, subject, tempDir } from './helpers.js';

/**
 * The revocation feed of the standalone server (issue 9 item 7): a long poll answered as soon as a
 * revocation is made by anyone, positions that survive nothing but their epoch, and a RevocationSet
 * that learns revocations it did not make and tells its listeners once per serial.
 */
const missing = missingTools('openssl');
const secret = 'revocation-feed-unit-secret-0123456789abcdef';

describe.skipIf(missing.length > 0 && !inCi)(
  `the revocation feed${missing.length > 0 ? ` (skipped: ${missingMessage(missing)})` : ''}`,
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let server: RunningCertificateServer;
    let hub: CertificateOperations;
    let operator: CertificateOperations;
    let key: string;

    beforeAll(async () => {
      failIfMissing(missing);
      dir = await tempDir();
      [server, key] = await Promise.all([
        startCertificateServer({ dataDir: join(dir.path, 'data'), port: 0, sharedSecret: secret }),
        opensslKey(dir.path, 'p256', { curve: 'prime256v1' }),
      ]);
      hub = connectCertificateService({ baseUrl: server.url, sharedSecret: secret });
      operator = connectCertificateService({ baseUrl: server.url, sharedSecret: secret });
    });
    afterAll(async () => {
      await server?.close();
      await dir?.remove();
    });

    const issue = async (tag: string) =>
      (
        await operator.issue({
          csrPem: await opensslCsr(key, subject(`${tag}-${Date.now()}`)),
          issueAuthority: 'ECC',
          binding: binding(tag),
        })
      ).certificate;

    it('answers the full list for an unknown epoch, then the revocation another client makes while it waits', async () => {
      const first = await hub.revocations({ after: 0 });
      expect(first).toMatchObject({ full: true, serials: [] });
      const cert = await issue('fed');
      const started = Date.now();
      const waiting = hub.revocations({ after: first.position, epoch: first.epoch, waitSeconds: 20 });
      await operator.revoke({ certSN: cert.certSN, reason: 1 });
      const page = await waiting;
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(page).toMatchObject({ epoch: first.epoch, position: first.position + 1, full: false, serials: [cert.serialHex] });
      // nothing new: an empty page after the wait, same position
      expect(await hub.revocations({ after: page.position, epoch: page.epoch, waitSeconds: 0.2 })).toMatchObject({
        full: false,
        serials: [],
        position: page.position,
      });
      // a position from another epoch (a restarted service) gets everything again
      expect(await hub.revocations({ after: page.position, epoch: 'another-epoch' })).toMatchObject({
        full: true,
        serials: [cert.serialHex],
      });
    });

    it('a RevocationSet following the feed learns a revocation it did not make and reports it once', async () => {
      const set = await RevocationSet.follow(hub, { refreshMs: 0, feedWaitSeconds: 20 });
      const heard: string[] = [];
      set.onAdded((s) => heard.push(s));
      try {
        const cert = await issue('followed');
        expect(set.has(cert.serialHex)).toBe(false);
        const learned = new Promise<void>((resolve) => set.onAdded((s) => s === cert.serialHex && resolve()));
        await operator.revoke({ certSN: cert.certSN, reason: 4 });
        await learned;
        expect(set.has(cert.serialHex.toUpperCase())).toBe(true);
        await set.refresh();
        expect(heard.filter((s) => s === cert.serialHex)).toHaveLength(1);
      } finally {
        set.close();
        await set.closed();
      }
    });
  },
);
