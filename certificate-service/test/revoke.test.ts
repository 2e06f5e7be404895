import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  connectCertificateService,
  RevocationSet,
  startCertificateServer,
  type CertificateOperations,
  type RevocationEvent,
  type RunningCertificateServer,
} from '../src/index.js';
import {
  binding,
  derCrlToPem,
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

/**
 * Revocation through the standalone server, as the hub will do it: revoke → the CRL fetched from
 * the server lists the serial with its reason (openssl's reading) → `openssl verify -crl_check`
 * rejects the certificate. Renewal and the in-memory revoked set ride along.
 */
const missing = missingTools('openssl');
const secret = 'a-shared-secret-that-is-long-enough-0123456789';

describe.skipIf(missing.length > 0 && !inCi)(
  `revoke, CRL and renew through the standalone server${missing.length > 0 ? ` (skipped: ${missingMessage(missing)})` : ''}`,
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let server: RunningCertificateServer;
    let client: CertificateOperations;
    let rsaKey: string;
    let ecKey: string;

    beforeAll(async () => {
      failIfMissing(missing);
      dir = await tempDir();
      [server, rsaKey, ecKey] = await Promise.all([
        startCertificateServer({ dataDir: join(dir.path, 'data'), port: 0, sharedSecret: secret }),
        opensslKey(dir.path, 'rsa', { rsa: 2048 }),
        opensslKey(dir.path, 'p256', { curve: 'prime256v1' }),
      ]);
      client = connectCertificateService({ baseUrl: server.url, sharedSecret: secret });
    });
    afterAll(async () => {
      await server?.close();
      await dir?.remove();
    });

    async function fetchCrl(authority: 'RSA' | 'ECC'): Promise<{ pem: string; text: string }> {
      const res = await fetch(`${server.url}/crl/${authority}.crl`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pkix-crl');
      const der = new Uint8Array(await res.arrayBuffer());
      const path = join(dir.path, `${authority}-${Date.now()}.crl`);
      await writeFile(path, der);
      const text = await runOk('openssl', ['crl', '-inform', 'DER', '-in', path, '-noout', '-text']);
      // Signed by the issuing CA it belongs to:
      const chain = join(dir.path, `chain-${authority}.pem`);
      await writeFile(chain, (await client.caCertificates()).authorities[authority].chainPem);
      const check = await run('openssl', ['crl', '-inform', 'DER', '-in', path, '-CAfile', chain, '-noout']);
      expect(check.stdout + check.stderr).toMatch(/verify OK/);
      return { pem: await derCrlToPem(der), text };
    }

    it('revokes: the CRL lists the serial with its reason and openssl verify -crl_check rejects the certificate', async () => {
      const events: RevocationEvent[] = [];
      const unsubscribe = client.onRevoked((e) => events.push(e));
      const serverEvents: RevocationEvent[] = [];
      server.service.onRevoked((e) => serverEvents.push(e));

      const issued = await client.issue({ csrPem: await opensslCsr(rsaKey, subject('to-revoke')), binding: binding() });
      const pems = { root: issued.rootCertPem, issuing: issued.caCertPem, cert: issued.certificate.certPem };
      const serialUpper = issued.certificate.serialHex.toUpperCase();

      const before = await fetchCrl('RSA');
      expect(before.text).not.toContain(serialUpper);
      const ok = await opensslVerify(dir.path, { ...pems, crl: before.pem });
      expect(ok.stdout + ok.stderr).toMatch(/: OK/);

      const revoked = await client.revoke({ certSN: issued.certificate.certSN, reason: 1 });
      expect(revoked).toMatchObject({ status: 1, revocationReason: 1 });

      const after = await fetchCrl('RSA');
      expect(after.text).toMatch(
        new RegExp(
          `Serial Number: 0*${serialUpper}\\s+Revocation Date: .+\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`,
        ),
      );
      expect(Number(/CRL Number:\s+(\d+)/.exec(after.text)![1])).toBeGreaterThan(Number(/CRL Number:\s+(\d+)/.exec(before.text)![1]));
      const refused = await opensslVerify(dir.path, { ...pems, crl: after.pem });
      expect(refused.code).not.toBe(0);
      expect(refused.stdout + refused.stderr).toMatch(/certificate revoked/);

      // The ECC CRL is unaffected.
      expect((await fetchCrl('ECC')).text).not.toContain(serialUpper);

      // The in-memory set and the events, for the hub's TLS listener.
      expect(server.service.isRevoked(serialUpper)).toBe(true);
      expect(await client.revokedSerials()).toContain(issued.certificate.serialHex);
      expect(events.map((e) => e.certSN)).toEqual([issued.certificate.certSN]);
      expect(serverEvents).toMatchObject([
        { serialHex: issued.certificate.serialHex, reason: 1, issueAuthority: 'RSA', binding: issued.certificate.binding },
      ]);
      unsubscribe();
    });

    it('refuses a second revocation, an unknown serial, a reason outside §6, and another tenant', async () => {
      const issued = await client.issue({
        csrPem: await opensslCsr(ecKey, subject('revoke-errors')),
        issueAuthority: 'ECC',
        binding: binding(),
      });
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'ok',
          (e: unknown) => (e instanceof CertificateError ? e.code : String(e)),
        );
      expect(await code(client.revoke({ certSN: issued.certificate.certSN, reason: 2 as never }))).toBe('revoke.invalid_reason');
      expect(await code(client.revoke({ certSN: issued.certificate.certSN, reason: 1, scope: { orgId: 'another-org' } }))).toBe(
        'cert.not_found',
      );
      expect(await client.get({ certSN: issued.certificate.certSN, scope: { orgId: 'another-org' } })).toBeUndefined();
      expect(await code(client.revoke({ certSN: '12345' }))).toBe('cert.not_found');
      expect(await code(client.revoke({ certSN: 'abc' }))).toBe('request.invalid');
      // reason 0 (unspecified) is the default; RFC 5280 leaves the reason code out for it
      expect(
        await client.revoke({ serialHex: issued.certificate.serialHex.toUpperCase(), scope: { orgId: issued.certificate.binding.orgId } }),
      ).toMatchObject({ status: 1, revocationReason: 0 });
      expect(await code(client.revoke({ certSN: issued.certificate.certSN }))).toBe('cert.already_revoked');
    });

    it('a revoked CN is free again for another device; a valid one is not', async () => {
      const first = await client.issue({
        csrPem: await opensslCsr(ecKey, subject('reused-cn')),
        issueAuthority: 'ECC',
        binding: binding(),
      });
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'ok',
          (e: unknown) => (e instanceof CertificateError ? e.code : String(e)),
        );
      expect(
        await code(client.issue({ csrPem: await opensslCsr(ecKey, subject('reused-cn')), issueAuthority: 'ECC', binding: binding() })),
      ).toBe('csr.duplicate_cn');
      await client.revoke({ certSN: first.certificate.certSN, reason: 5 });
      expect(
        await code(client.issue({ csrPem: await opensslCsr(ecKey, subject('reused-cn')), issueAuthority: 'ECC', binding: binding() })),
      ).toBe('ok');
    });

    it('renews from the stored CSR (§7.3 renew without csr): new serial, same subject and key, old one still valid', async () => {
      const device = binding();
      const original = await client.issue({ csrPem: await opensslCsr(rsaKey, subject('renew-me')), validDay: 30, binding: device });
      const renewed = await client.renew({ certSN: original.certificate.certSN, validDay: 60 });
      expect(renewed.certificate.certSN).not.toBe(original.certificate.certSN);
      expect(renewed.certificate).toMatchObject({
        subject: original.certificate.subject,
        binding: device,
        renewedFrom: original.certificate.serialHex,
        validDay: 60,
        status: 0,
      });
      const pubkey = (pem: string) => runOk('openssl', ['x509', '-noout', '-pubkey'], { input: pem });
      expect(await pubkey(renewed.certificate.certPem)).toBe(await pubkey(original.certificate.certPem));
      const v = await opensslVerify(dir.path, { root: renewed.rootCertPem, issuing: renewed.caCertPem, cert: renewed.certificate.certPem });
      expect(v.code).toBe(0);
      expect((await client.get({ certSN: original.certificate.certSN }))?.status).toBe(0);
      expect((await client.list({ binding: { deviceKey: device.deviceKey } })).map((c) => c.certSN)).toEqual([
        renewed.certificate.certSN,
        original.certificate.certSN,
      ]);
    });

    it('renews with a new CSR reusing its own CN and a new authority; refuses to renew a revoked certificate', async () => {
      const device = binding();
      const original = await client.issue({ csrPem: await opensslCsr(rsaKey, subject('rotate-me')), binding: device });
      const newKey = await opensslKey(dir.path, 'rotated', { curve: 'prime256v1' });
      const renewed = await client.renew({
        certSN: original.certificate.certSN,
        csrPem: await opensslCsr(newKey, subject('rotate-me')),
        issueAuthority: 'ECC',
      });
      expect(renewed.certificate).toMatchObject({ commonName: 'rotate-me', issueAuthority: 'ECC', binding: device });
      await client.revoke({ certSN: renewed.certificate.certSN, reason: 4 });
      const err = await client.renew({ certSN: renewed.certificate.certSN }).catch((e: unknown) => e);
      expect((err as CertificateError).code).toBe('cert.revoked');
    });

    it('a RevocationSet follows the service: initial list, then every revocation at once', async () => {
      const issued = await client.issue({
        csrPem: await opensslCsr(ecKey, subject('followed')),
        issueAuthority: 'ECC',
        binding: binding(),
      });
      const set = await RevocationSet.follow(client, { refreshMs: 0 });
      const already = (await client.revokedSerials()).length;
      expect(set.size).toBe(already);
      expect(set.has(issued.certificate.serialHex)).toBe(false);
      await client.revoke({ certSN: issued.certificate.certSN, reason: 9 });
      expect(set.has(issued.certificate.serialHex.toUpperCase())).toBe(true);
      set.close();
    });
  },
);
