import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { createCa, issue, issuePushCertificate, type SimCa } from '@edgehub/simulators/apple';
import { openEmbeddedStore } from '../src/store/embedded/store.js';
import type { Store } from '../src/store/port.js';
import { PushCertificates } from '../src/push/apns/push-certificates.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import type { SecretKeyring } from '../src/secrets/secret-key.js';

const day = 86_400_000;
const topic = 'com.apple.mgmt.External.11111111-2222-3333-4444-555555555555';

describe('APNs push certificate: topic, renewal, expiry reminders (docs/DEVICE-MANAGEMENT.md, "Apple: push certificate")', () => {
  let dir: string;
  let store: Store;
  let ca: SimCa;
  let now: number;
  let lines: Record<string, unknown>[];
  let certs: PushCertificates;
  let keyring: SecretKeyring;
  let log: Logger;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apns-cert-'));
    store = await openEmbeddedStore({ path: join(dir, 'registry') });
    ca = await createCa('Apple (sim)');
    now = Date.now();
    lines = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        cb();
      },
    });
    log = pino({ level: 'info' }, sink);
    keyring = { box: new SecretBox(randomBytes(32)) };
    certs = await PushCertificates.open(store, log, () => now, keyring);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('extracts the topic from the subject UID and keeps notAfter; the key never appears in a log line', async () => {
    const cert = await issuePushCertificate(ca, topic, 365);
    const view = await certs.upload(cert.certPem + cert.keyPem, undefined);
    expect(view.topic).toBe(topic);
    expect(view.notAfter).toBeGreaterThan(now + 360 * day);
    expect(JSON.stringify(lines)).not.toContain('PRIVATE KEY');
    expect(lines.some((l) => l.msg === 'apns push certificate uploaded' && l.topic === topic)).toBe(true);
  });

  it('refuses a certificate for another topic unless forced; a renewal with the same topic replaces it', async () => {
    const first = await issuePushCertificate(ca, topic);
    await certs.upload(first.certPem, first.keyPem);
    const other = await issuePushCertificate(ca, 'com.apple.mgmt.External.99999999-0000-0000-0000-000000000000');
    await expect(certs.upload(other.certPem, other.keyPem)).rejects.toMatchObject({ reason: 'TopicChanged' });
    expect((await certs.current())?.topic).toBe(topic);

    const renewal = await issuePushCertificate(ca, topic, 400);
    await certs.upload(renewal.certPem, renewal.keyPem);
    expect((await certs.current())?.certPem).toBe(renewal.certPem.trim());

    await certs.upload(other.certPem, other.keyPem, true);
    expect((await certs.current())?.topic).toBe('com.apple.mgmt.External.99999999-0000-0000-0000-000000000000');
  });

  it('refuses a certificate without an MDM topic, a key of another certificate, and an expired certificate', async () => {
    const plain = await issue(ca, { subject: { CN: 'not a push cert' } });
    await expect(certs.upload(plain.certPem, plain.keyPem)).rejects.toMatchObject({ reason: 'NoTopic' });
    const a = await issuePushCertificate(ca, topic);
    const b = await issuePushCertificate(ca, topic);
    await expect(certs.upload(a.certPem, b.keyPem)).rejects.toMatchObject({ reason: 'KeyMismatch' });
    const old = await issuePushCertificate(ca, topic, 2, new Date(now - 10 * day));
    await expect(certs.upload(old.certPem, old.keyPem)).rejects.toMatchObject({ reason: 'Expired' });
    await expect(certs.upload('not pem', undefined)).rejects.toMatchObject({ reason: 'Unparsable' });
    expect(await certs.current()).toBeUndefined();
  });

  it('reminds once at 30, 14, 7 and 1 days before expiry, with a warning line an operator can alert on', async () => {
    const cert = await issuePushCertificate(ca, topic, 60);
    const { notAfter } = await certs.upload(cert.certPem, cert.keyPem);
    const at = (daysLeft: number) => notAfter - daysLeft * day;
    const seen: number[] = [];
    for (const daysLeft of [45, 31, 30, 29.5, 20, 14, 13, 7, 6, 2, 1, 0.5]) {
      now = at(daysLeft);
      for (const r of await certs.checkExpiry()) seen.push(r.thresholdDays);
    }
    expect(seen).toEqual([30, 14, 7, 1]);
    expect((await certs.listReminders()).map((r) => r.thresholdDays)).toEqual([30, 14, 7, 1]);
    const warnings = lines.filter((l) => l.msg === 'apns push certificate expires soon');
    expect(warnings.map((w) => w.thresholdDays)).toEqual([30, 14, 7, 1]);
    expect(warnings[0]).toMatchObject({ level: 40, topic, daysLeft: 30 });
  });

  it('a check after a long pause announces only the tightest threshold reached, once', async () => {
    const cert = await issuePushCertificate(ca, topic, 60);
    const { notAfter } = await certs.upload(cert.certPem, cert.keyPem);
    now = notAfter - 5 * day;
    expect((await certs.checkExpiry()).map((r) => r.thresholdDays)).toEqual([7]);
    expect(await certs.checkExpiry()).toEqual([]);
    now = notAfter - 0.5 * day;
    expect((await certs.checkExpiry()).map((r) => r.thresholdDays)).toEqual([1]);
  });

  it('a renewal starts the reminders again for the new expiry', async () => {
    const cert = await issuePushCertificate(ca, topic, 20);
    const { notAfter } = await certs.upload(cert.certPem, cert.keyPem);
    now = notAfter - 13 * day;
    expect((await certs.checkExpiry()).map((r) => r.thresholdDays)).toEqual([14]);
    const renewed = await issuePushCertificate(ca, topic, 365, new Date(now - day));
    const next = await certs.upload(renewed.certPem, renewed.keyPem);
    expect(await certs.checkExpiry()).toEqual([]);
    now = next.notAfter - 29 * day;
    expect((await certs.checkExpiry()).map((r) => r.thresholdDays)).toEqual([30]);
  });

  describe('the private key at rest (docs/SECURITY.md, "Secrets at rest")', () => {
    type Raw = Record<string, unknown>;
    const raw = async () => (await store.collection<Raw>({ name: 'apnsPushCertificates', key: 'id' })).get('apns');
    /** The base64 body of a PEM key: what a reader of the store's files would find if it were stored in the clear. */
    const keyBody = (pem: string) => pem.split('\n').find((l) => l.length >= 60 && !l.startsWith('-----'))!;
    async function storeFilesContain(needle: string): Promise<boolean> {
      await store.close();
      let found = false;
      for (const f of await readdir(join(dir, 'registry'), { recursive: true })) {
        const bytes = await readFile(join(dir, 'registry', f)).catch(() => Buffer.alloc(0));
        if (bytes.includes(needle)) found = true;
      }
      store = await openEmbeddedStore({ path: join(dir, 'registry') });
      return found;
    }

    it('stores the key sealed: neither the document nor the store files hold the PEM key; it opens with the key', async () => {
      const cert = await issuePushCertificate(ca, topic);
      await certs.upload(cert.certPem, cert.keyPem);
      const doc = await raw();
      expect(doc).not.toHaveProperty('keyPem');
      expect(doc?.['sealedKey']).toMatchObject({ alg: 'A256GCM', kid: keyring.box!.keyId });
      expect(JSON.stringify(doc)).not.toContain(keyBody(cert.keyPem));
      expect(await storeFilesContain(keyBody(cert.keyPem))).toBe(false);
      // The certificate is stored in the clear (it is public): the file check finds what is there.
      expect(await storeFilesContain(keyBody(cert.certPem))).toBe(true);
      const again = await PushCertificates.open(store, log, () => now, keyring);
      expect((await again.current())?.keyPem).toBe(cert.keyPem.trim());
    });

    it('a record written in the clear by an older version is read, sealed and its clear key removed at the first use', async () => {
      const cert = await issuePushCertificate(ca, topic);
      const legacy = await store.collection<Raw>({ name: 'apnsPushCertificates', key: 'id' });
      const notAfter = now + 300 * day;
      await legacy.insert({ id: 'apns', topic, notAfter, certPem: cert.certPem, keyPem: cert.keyPem, uploadedAt: now, remindersSent: [] });
      const rec = await certs.current();
      expect(rec).toMatchObject({ topic, certPem: cert.certPem, keyPem: cert.keyPem, notAfter });
      const doc = await raw();
      expect(doc).not.toHaveProperty('keyPem');
      expect(doc?.['sealedKey']).toMatchObject({ kid: keyring.box!.keyId });
      expect(lines.some((l) => l.msg === 'apns push certificate key sealed at rest')).toBe(true);
      // Read back through a fresh instance: the sealed key opens to the same PEM.
      expect((await (await PushCertificates.open(store, log, () => now, keyring)).current())?.keyPem).toBe(cert.keyPem);
      expect(JSON.stringify(lines)).not.toContain(keyBody(cert.keyPem));
    });

    it('another secret key refuses clearly, naming both key ids and never the key; nothing is changed', async () => {
      const cert = await issuePushCertificate(ca, topic);
      await certs.upload(cert.certPem, cert.keyPem);
      const before = await raw();
      const other = { box: new SecretBox(randomBytes(32)) };
      const wrong = await PushCertificates.open(store, log, () => now, other);
      const err = await wrong.current().catch((e: unknown) => e as Error);
      expect(err).toMatchObject({ name: 'SecretKeyError', reason: 'WrongKey' });
      expect((err as Error).message).toContain(keyring.box!.keyId);
      expect((err as Error).message).toContain(other.box.keyId);
      expect((err as Error).message).toMatch(/HUB_SECRET_KEY/);
      expect((err as Error).message).not.toContain('PRIVATE KEY');
      expect(await raw()).toEqual(before);
      // The topic and dates stay readable without the key (status route, profiles).
      expect(await wrong.view()).toMatchObject({ topic });
    });

    it('without a secret key (a cluster given none) an upload is refused; a clear record of an older version is still used, with a warning', async () => {
      const missing = { missing: 'HUB_SECRET_KEY or HUB_SECRET_KEY_FILE is required with REDIS_URL or MONGODB_URL' };
      const keyless = await PushCertificates.open(store, log, () => now, missing);
      const cert = await issuePushCertificate(ca, topic);
      await expect(keyless.upload(cert.certPem, cert.keyPem)).rejects.toMatchObject({ reason: 'Missing' });
      expect(await raw()).toBeUndefined();
      const legacy = await store.collection<Raw>({ name: 'apnsPushCertificates', key: 'id' });
      await legacy.insert({
        id: 'apns',
        topic,
        notAfter: now + day * 300,
        certPem: cert.certPem,
        keyPem: cert.keyPem,
        uploadedAt: now,
        remindersSent: [],
      });
      expect((await keyless.current())?.keyPem).toBe(cert.keyPem);
      expect(lines.some((l) => l.level === 40 && String(l.msg).includes('stored in the clear'))).toBe(true);
    });
  });
});
