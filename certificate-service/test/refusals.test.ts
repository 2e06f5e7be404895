import { readdirSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  MAX_CSR_PEM_BYTES,
  openCertificateService,
  type CertificateErrorCode,
  type CertificateService,
  type IssueRequest,
} from '../src/index.js';
import {
  binding,
  cryptographyVectorsRequests,
  failIfMissing,
  inCi,
  missingMessage,
  missingTools,
  opensslCsr,
  opensslKey,
  pemOf,
  run,
  runOk,
  subject,
  tempDir,
} from './helpers.js';

/**
 * Issue 5 "bad input": every refusal has its code, and no refused request leaves a trace — no
 * serial drawn, no record, not a byte appended to the store's log.
 */
const missing = missingTools('openssl');
const vectorsDir = cryptographyVectorsRequests();
const vectorsMissing = vectorsDir === undefined ? ['python3-cryptography-vectors'] : [];
const allMissing = [...missing, ...vectorsMissing];

describe.skipIf(allMissing.length > 0 && !inCi)(
  `refused CSRs${allMissing.length > 0 ? ` (skipped: ${missingMessage(missing)} ${vectorsMissing.join('')})` : ''}`,
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let service: CertificateService;
    let logPath: string;
    let rsaKey: string;
    let ecKey: string;
    let before: { count: number; bytes: number };

    beforeAll(async () => {
      failIfMissing(missing);
      if (vectorsMissing.length > 0) throw new Error('CI=true but python3-cryptography-vectors is not installed; .ci/run installs it');
      dir = await tempDir();
      logPath = join(dir.path, 'data', 'certificates.jsonl');
      [service, rsaKey, ecKey] = await Promise.all([
        openCertificateService({ dataDir: join(dir.path, 'data') }),
        opensslKey(dir.path, 'rsa', { rsa: 2048 }),
        opensslKey(dir.path, 'p256', { curve: 'prime256v1' }),
      ]);
      // One legitimate certificate first, so "unchanged" is measured against a non-empty store.
      await service.issue({ csrPem: await opensslCsr(ecKey, subject('taken-cn')), issueAuthority: 'ECC', binding: binding('owner') });
      before = await footprint();
    });
    afterAll(async () => {
      await service?.close();
      await dir?.remove();
    });

    async function footprint(): Promise<{ count: number; bytes: number }> {
      return { count: await service.store.count(), bytes: (await stat(logPath)).size };
    }

    async function refused(
      request: Omit<Partial<IssueRequest>, 'csrPem'> & { csrPem: unknown },
      code: CertificateErrorCode,
    ): Promise<void> {
      const err = await service.issue({ binding: binding(), ...request } as IssueRequest).then(
        (r) => new Error(`issued certSN ${r.certificate.certSN} (${r.certificate.subject}), expected ${code}`),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CertificateError);
      expect((err as CertificateError).code, (err as Error).message).toBe(code);
    }

    describe('python3-cryptography-vectors requests/, judged by openssl', () => {
      const files = vectorsDir ? readdirSync(vectorsDir).sort() : [];

      it('has vectors to judge', () => {
        expect(files.length).toBeGreaterThan(10);
      });

      it.each(files)('%s', async (file) => {
        const raw = readFileSync(join(vectorsDir!, file));
        const der = file.endsWith('.der');
        // The independent oracle: openssl's own verdict on the self-signature and the algorithm.
        const oracle = await run('openssl', [
          'req',
          '-inform',
          der ? 'DER' : 'PEM',
          '-in',
          join(vectorsDir!, file),
          '-verify',
          '-noout',
          '-text',
        ]);
        const out = oracle.stdout + oracle.stderr;
        const sigAlg = /Signature Algorithm: (\S+)/.exec(out)?.[1] ?? '';
        const weakAlgorithm =
          /^(md[245]|sha1)With/i.test(sigAlg) ||
          /^dsa/i.test(sigAlg) ||
          sigAlg === 'ecdsa-with-SHA1' ||
          /Public Key Algorithm: dsaEncryption/.test(out);
        const signatureFails = /verify failure/.test(out) || !/verify OK/.test(out);
        const rsaBits = /Public-Key: \((\d+) bit\)/.exec(out)?.[1];
        // The service takes PEM: DER vectors are wrapped as they are (no re-encoding by a tool).
        const csrPem = der ? pemOf(raw, 'CERTIFICATE REQUEST') : raw.toString('utf8');
        const outcome = await service.issue({ csrPem, binding: binding('vector') }).then(
          () => 'issued',
          (e: unknown) => (e instanceof CertificateError ? e.code : `unexpected ${String(e)}`),
        );
        if (weakAlgorithm) expect(outcome, `${sigAlg}`).toBe('csr.unsupported_algorithm');
        else if (signatureFails) expect(outcome, 'openssl: self-signature verify failure').toBe('csr.invalid_signature');
        else if (/rsaEncryption/.test(out) && Number(rsaBits) < 2048) expect(outcome).toBe('csr.weak_key');
        else {
          // Good signature, modern algorithm: refused, if at all, only by the §6 subject rules.
          expect(outcome).not.toMatch(/csr\.(invalid_signature|unsupported_algorithm|malformed|not_pem)|unexpected/);
        }
      });
    });

    it('refuses RSA-1024 as a weak key', async () => {
      const key = await opensslKey(dir.path, 'rsa1024', { rsa: 1024 });
      await refused({ csrPem: await opensslCsr(key, subject('rsa-1024')) }, 'csr.weak_key');
    });

    it.each([['secp521r1'], ['secp256k1']])('refuses the %s curve', async (curve) => {
      const key = await opensslKey(dir.path, curve, { curve });
      await refused({ csrPem: await opensslCsr(key, subject(`curve-${curve}`)), issueAuthority: 'ECC' }, 'csr.unsupported_algorithm');
    });

    it.each([
      ['SHA-1', ['-sha1']],
      ['MD5', ['-md5']],
      ['RSA-PSS', ['-sigopt', 'rsa_padding_mode:pss']],
    ])('refuses an RSA CSR signed with %s', async (_name, args) => {
      await refused({ csrPem: await opensslCsr(rsaKey, subject(`weak-sig-${_name}`), args) }, 'csr.unsupported_algorithm');
    });

    it('refuses Ed25519 and DSA keys', async () => {
      const ed = await opensslKey(dir.path, 'ed25519', { algorithm: 'ED25519' });
      await refused({ csrPem: await opensslCsr(ed, subject('ed25519')) }, 'csr.unsupported_algorithm');
      // DSA needs its domain parameters first; 1024 bits keeps the generation quick, the size is not what is refused.
      const params = join(dir.path, 'dsa.params');
      const dsa = join(dir.path, 'dsa.key');
      await runOk('openssl', ['genpkey', '-genparam', '-algorithm', 'DSA', '-pkeyopt', 'dsa_paramgen_bits:1024', '-out', params]);
      await runOk('openssl', ['genpkey', '-paramfile', params, '-out', dsa]);
      const dsaCsr = await opensslCsr(dsa, subject('dsa'));
      expect((await runOk('openssl', ['req', '-noout', '-text'], { input: dsaCsr })).toLowerCase()).toContain('dsa');
      for (const issueAuthority of ['RSA', 'ECC'] as const) await refused({ csrPem: dsaCsr, issueAuthority }, 'csr.unsupported_algorithm');
    });

    it.each([
      ['C', { C: 'US' }],
      ['ST', { ST: 'Beijing' }],
      ['O', { O: 'Not EnOS' }],
    ])('refuses a subject whose %s differs from the root (§6)', async (_field, overrides) => {
      await refused({ csrPem: await opensslCsr(ecKey, subject('mismatch', overrides)), issueAuthority: 'ECC' }, 'csr.subject_mismatch');
    });

    it.each([['L'], ['OU'], ['CN']])('refuses a subject without %s (all six are mandatory)', async (field) => {
      await refused({ csrPem: await opensslCsr(ecKey, subject('missing-field', { [field]: undefined })) }, 'csr.subject_missing');
    });

    it('refuses a field longer than 64 characters', async () => {
      // openssl itself caps CN at 64; L may be 128 in openssl, §6 allows 64.
      await refused({ csrPem: await opensslCsr(ecKey, subject('long-locality', { L: 'x'.repeat(65) })) }, 'csr.subject_invalid');
    });

    it('refuses a CN already used by a valid certificate of another device (§6 duplicate subject)', async () => {
      await refused({ csrPem: await opensslCsr(ecKey, subject('taken-cn')), issueAuthority: 'ECC' }, 'csr.duplicate_cn');
    });

    it('refuses validDay above the maximum, and non-positive validDay', async () => {
      const csrPem = await opensslCsr(ecKey, subject('too-long'));
      await refused({ csrPem, validDay: 366, maxValidDay: 365 }, 'csr.valid_day_too_large');
      await refused({ csrPem, validDay: 0 }, 'csr.valid_day_invalid');
      await refused({ csrPem, validDay: 1.5 }, 'csr.valid_day_invalid');
    });

    it('refuses oversize input before parsing it', async () => {
      const csrPem = await opensslCsr(ecKey, subject('padded'));
      await refused({ csrPem: csrPem + ' '.repeat(MAX_CSR_PEM_BYTES) }, 'csr.too_large');
    });

    it('refuses input that is not a PEM certificate request', async () => {
      const csrPem = await opensslCsr(ecKey, subject('not-pem'));
      const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      await refused({ csrPem: der.toString('latin1') }, 'csr.not_pem');
      await refused({ csrPem: 'hello' }, 'csr.not_pem');
      await refused({ csrPem: csrPem.replace(/CERTIFICATE REQUEST/g, 'CERTIFICATE') }, 'csr.not_pem');
      await refused({ csrPem: csrPem + csrPem }, 'csr.not_pem');
      await refused({ csrPem: csrPem.replace(/\n([A-Za-z0-9+/]{10})/, '\n!$1') }, 'csr.not_pem');
      await refused({ csrPem: 42 }, 'csr.not_pem');
      await refused({ csrPem: pemOf(Buffer.from('definitely not DER'), 'CERTIFICATE REQUEST') }, 'csr.malformed');
      await refused({ csrPem: pemOf(Buffer.concat([der, Buffer.from([0, 0])]), 'CERTIFICATE REQUEST') }, 'csr.malformed');
    });

    it('refuses bad parameters: unknown authority, incomplete binding', async () => {
      const csrPem = await opensslCsr(ecKey, subject('params'));
      await refused({ csrPem, issueAuthority: 'DSA' as never }, 'request.invalid');
      await refused({ csrPem, binding: { orgId: 'o1', productKey: 'pk', deviceKey: '', assetId: 'a' } }, 'request.invalid');
    });

    it('issued no serial for any refused request: the store and its log are unchanged', async () => {
      expect(await footprint()).toEqual(before);
      expect((await service.list()).map((c) => c.commonName)).toEqual(['taken-cn']);
    });
  },
);
