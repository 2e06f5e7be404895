import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DuplicateSerialError, type CertificateRecord, type CertificateStore } from '../src/index.js';

/**
 * What every CertificateStore adapter must do, errors included. The hub's MongoDB adapter runs
 * this too: `certificateStoreContract('mongodb', () => openMongoCertificateStore(db))`.
 * `open` must return a store over the same underlying data each time it is called (restart).
 */
export function certificateStoreContract(name: string, open: () => Promise<CertificateStore>): void {
  describe(`CertificateStore contract: ${name}`, () => {
    it('returns what was inserted, field for field (dates, bytes, nested binding)', async () => {
      const store = await open();
      const r = record({ renewedFrom: 'abc' });
      await store.insert(r);
      expect(await store.get(r.serialHex)).toEqual(r);
      expect(await store.get('ffff' + r.serialHex)).toBeUndefined();
      await store.close();
    });

    it('refuses a duplicate serial, also when two inserts race', async () => {
      const store = await open();
      const r = record();
      await store.insert(r);
      await expect(store.insert({ ...r, commonName: 'other' })).rejects.toBeInstanceOf(DuplicateSerialError);
      const racing = record();
      const results = await Promise.allSettled([store.insert(racing), store.insert({ ...racing, commonName: 'twin' })]);
      expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
      expect((results.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateSerialError);
      expect((await store.get(r.serialHex))?.commonName).toBe(r.commonName);
      await store.close();
    });

    it('revokes once: missing, revoked, already revoked; racing revocations have one winner', async () => {
      const store = await open();
      const r = record();
      await store.insert(r);
      const at = new Date('2030-01-02T03:04:05.678Z');
      expect(await store.revoke('dead' + r.serialHex, { reason: 1, at })).toEqual({ missing: true });
      expect(await store.revoke(r.serialHex, { reason: 4, at })).toEqual({ revoked: { ...r, revocation: { reason: 4, at } } });
      expect(await store.revoke(r.serialHex, { reason: 1, at: new Date() })).toEqual({
        alreadyRevoked: { ...r, revocation: { reason: 4, at } },
      });
      const racing = record();
      await store.insert(racing);
      const outcomes = await Promise.all([
        store.revoke(racing.serialHex, { reason: 1, at }),
        store.revoke(racing.serialHex, { reason: 9, at }),
      ]);
      expect(outcomes.filter((o) => 'revoked' in o)).toHaveLength(1);
      expect(outcomes.filter((o) => 'alreadyRevoked' in o)).toHaveLength(1);
      await store.close();
    });

    it('finds by partial binding, CN, authority and revocation', async () => {
      const store = await open();
      const org = `org-${randomBytes(4).toString('hex')}`;
      const a = record({
        binding: { orgId: org, productKey: 'p1', deviceKey: 'd1', assetId: 'a1' },
        commonName: `${org}-cn`,
        issueAuthority: 'RSA',
      });
      const b = record({
        binding: { orgId: org, productKey: 'p1', deviceKey: 'd2', assetId: 'a2' },
        commonName: `${org}-cn`,
        issueAuthority: 'ECC',
      });
      const c = record({
        binding: { orgId: org, productKey: 'p2', deviceKey: 'd1', assetId: 'a3' },
        commonName: `${org}-other`,
        issueAuthority: 'ECC',
      });
      for (const x of [a, b, c]) await store.insert(x);
      await store.revoke(b.serialHex, { reason: 0, at: new Date() });
      const serials = async (q: Parameters<CertificateStore['find']>[0]) => (await store.find(q)).map((r) => r.serialHex).sort();
      expect(await serials({ binding: { orgId: org } })).toEqual([a, b, c].map((r) => r.serialHex).sort());
      expect(await serials({ binding: { orgId: org, productKey: 'p1' } })).toEqual([a, b].map((r) => r.serialHex).sort());
      expect(await serials({ binding: { orgId: org, deviceKey: 'd1' } })).toEqual([a, c].map((r) => r.serialHex).sort());
      expect(await serials({ commonName: `${org}-cn`, revoked: false })).toEqual([a.serialHex]);
      expect(await serials({ binding: { orgId: org }, revoked: true })).toEqual([b.serialHex]);
      expect(await serials({ binding: { orgId: org }, issueAuthority: 'ECC' })).toEqual([b, c].map((r) => r.serialHex).sort());
      await store.close();
    });

    it('hands out copies: changing a returned record changes nothing stored', async () => {
      const store = await open();
      const r = record();
      await store.insert(r);
      const got = (await store.get(r.serialHex))!;
      got.binding.deviceKey = 'mutated';
      got.csrDer[0] = 0xff;
      expect(await store.get(r.serialHex)).toEqual(r);
      await store.close();
    });

    it('keeps everything across a reopen, and counts it', async () => {
      const store = await open();
      const r = record();
      await store.insert(r);
      await store.revoke(r.serialHex, { reason: 6, at: new Date('2031-05-06T07:08:09.010Z') });
      const count = await store.count();
      await store.close();
      const again = await open();
      expect(await again.count()).toBe(count);
      expect(await again.get(r.serialHex)).toEqual({ ...r, revocation: { reason: 6, at: new Date('2031-05-06T07:08:09.010Z') } });
      expect((await again.find({ commonName: r.commonName })).map((x) => x.serialHex)).toEqual([r.serialHex]);
      expect(await again.find({ commonName: r.commonName, revoked: false })).toEqual([]);
      await again.close();
    });
  });
}

let n = 0;
export function record(overrides: Partial<CertificateRecord> = {}): CertificateRecord {
  const serial = BigInt('0x1' + randomBytes(6).toString('hex'));
  n++;
  return {
    serialHex: serial.toString(16),
    certSN: serial.toString(10),
    binding: { orgId: 'o1', productKey: 'pk', deviceKey: `dk${n}`, assetId: `as${n}` },
    issueAuthority: 'RSA',
    subject: `C=CN, ST=Shanghai, L=Shanghai, O=EnOS, OU=Edge, CN=device-${n}`,
    commonName: `device-${n}`,
    issuer: 'C=CN, ST=Shanghai, L=Shanghai, O=EnOS, OU=EnOS CA, CN=EdgeHub RSA CA',
    validDay: 730,
    notBefore: new Date('2026-01-01T00:00:00.000Z'),
    notAfter: new Date('2028-01-01T00:00:00.000Z'),
    issuedAt: new Date('2026-01-01T00:05:00.123Z'),
    certPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    csrDer: new Uint8Array(randomBytes(64)),
    ...overrides,
  };
}
