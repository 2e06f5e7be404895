import type { Logger } from 'pino';
import { SecretKeyError, type SealedSecret } from '../../secrets/secret-box.js';
import type { SecretKeyring } from '../../secrets/secret-key.js';
import type { Collection, Store } from '../../store/port.js';
import { PushCertificateError, parsePushCertificate } from './push-certificate.js';

/** The one MDM push certificate of this hub, as the rest of the hub sees it: the key opened, in memory only. */
export interface PushCertificateRecord {
  id: 'apns';
  topic: string;
  notAfter: number;
  certPem: string;
  keyPem: string;
  uploadedAt: number;
  /** Reminder thresholds (days) already announced for this notAfter. */
  remindersSent: number[];
}

/**
 * The record in the store (docs/SECURITY.md, "Secrets at rest"): the private key sealed with the
 * hub's secret key. `keyPem` is the clear key written by versions before sealing: read, sealed
 * and removed at the first use.
 */
interface StoredPushCertificate extends Omit<PushCertificateRecord, 'keyPem'> {
  sealedKey?: SealedSecret;
  keyPem?: string;
}

/** The sealed key's additional authenticated data: this collection, this record, this field. */
const keyAad = 'apnsPushCertificates/apns/keyPem';

/** A reminder an operator can alert on (docs/DEVICE-MANAGEMENT.md, "Apple: push certificate"). */
export interface PushCertificateReminder {
  id: string;
  topic: string;
  thresholdDays: number;
  notAfter: number;
  at: number;
}

export const reminderThresholdsDays = [30, 14, 7, 1] as const;
const day = 86_400_000;

export interface PushCertificateView {
  topic: string;
  notAfter: number;
  uploadedAt: number;
}

/**
 * Upload, keep and watch the push certificate. A certificate for another topic is refused unless
 * forced: every enrolled device knows the topic from its profile and would have to enroll again.
 * A renewal (same topic) replaces the certificate and resets the reminders; listeners reload
 * their APNs session.
 */
export class PushCertificates {
  private readonly listeners: ((rec: PushCertificateRecord) => void)[] = [];
  private warnedClear = false;

  private constructor(
    private readonly certs: Collection<StoredPushCertificate>,
    private readonly reminders: Collection<PushCertificateReminder>,
    private readonly log: Logger,
    private readonly clock: () => number,
    private readonly keyring: SecretKeyring,
  ) {}

  static async open(store: Store, log: Logger, clock: () => number, keyring: SecretKeyring): Promise<PushCertificates> {
    return new PushCertificates(
      await store.collection<StoredPushCertificate>({ name: 'apnsPushCertificates', key: 'id' }),
      await store.collection<PushCertificateReminder>({ name: 'apnsPushCertificateReminders', key: 'id', indexes: ['topic'] }),
      log,
      clock,
      keyring,
    );
  }

  /**
   * The certificate with its key opened. Throws SecretKeyError when the key was sealed with another
   * secret key (or none is configured): the hub's start-up reads it, so a wrong key stops it there,
   * with the key ids in the message and never the key.
   */
  async current(): Promise<PushCertificateRecord | undefined> {
    const stored = await this.certs.get('apns');
    if (!stored) return undefined;
    const { sealedKey: _sealed, keyPem: _clear, ...rest } = stored;
    return { ...rest, keyPem: await this.openKey(stored) };
  }

  /** Topic and dates only: what profiles and the status route need, without touching the key. */
  async view(): Promise<PushCertificateView | undefined> {
    const stored = await this.certs.get('apns');
    return stored ? { topic: stored.topic, notAfter: stored.notAfter, uploadedAt: stored.uploadedAt } : undefined;
  }

  private async openKey(stored: StoredPushCertificate): Promise<string> {
    const box = this.keyring.box;
    if (stored.sealedKey) {
      if (!box) throw new SecretKeyError('Missing', `the APNs push certificate's private key is sealed: ${this.keyring.missing}`);
      try {
        return box.open(stored.sealedKey, keyAad);
      } catch (err) {
        if (err instanceof SecretKeyError)
          throw new SecretKeyError(
            err.reason,
            `the APNs push certificate's private key cannot be opened: ${err.message} (HUB_SECRET_KEY, HUB_SECRET_KEY_FILE or $HUB_DATA_DIR/secret.key must be the key it was sealed with; or upload the certificate again)`,
          );
        throw err;
      }
    }
    if (stored.keyPem === undefined) throw new SecretKeyError('Corrupt', 'the stored APNs push certificate has no private key');
    const keyPem = stored.keyPem;
    // Stored in the clear by a version before sealing: sealed now, the clear copy removed.
    if (box) {
      const sealed = await this.certs.update('apns', { sealedKey: box.seal(keyPem, keyAad) }, { keyPem });
      if (sealed) await this.certs.unset('apns', ['keyPem'], { keyPem });
      this.log.info({ topic: stored.topic, keyId: box.keyId }, 'apns push certificate key sealed at rest');
    } else if (!this.warnedClear) {
      this.warnedClear = true;
      this.log.warn({ topic: stored.topic }, `the APNs push certificate's private key is stored in the clear: ${this.keyring.missing}`);
    }
    return keyPem;
  }

  onChange(listener: (rec: PushCertificateRecord) => void): void {
    this.listeners.push(listener);
  }

  async upload(certText: string, keyText: string | undefined, force = false): Promise<PushCertificateView> {
    const parsed = parsePushCertificate(certText, keyText, this.clock());
    const box = this.keyring.box;
    if (!box) throw new SecretKeyError('Missing', `the push certificate's private key cannot be stored: ${this.keyring.missing}`);
    const existing = await this.view();
    if (existing && existing.topic !== parsed.topic && !force) {
      throw new PushCertificateError(
        'TopicChanged',
        `the certificate's topic ${parsed.topic} differs from the current topic ${existing.topic}; enrolled devices would have to enroll again (force to replace)`,
      );
    }
    const rec: PushCertificateRecord = { id: 'apns', ...parsed, uploadedAt: this.clock(), remindersSent: [] };
    const { keyPem, ...stored } = rec;
    const doc: StoredPushCertificate = { ...stored, sealedKey: box.seal(keyPem, keyAad) };
    if (existing) {
      await this.certs.update('apns', doc);
      // A clear key left by an older version must not survive beside the sealed one.
      await this.certs.unset('apns', ['keyPem']);
    } else await this.certs.insert(doc);
    this.log.info(
      { topic: rec.topic, notAfter: new Date(rec.notAfter).toISOString(), replaced: existing?.topic },
      'apns push certificate uploaded',
    );
    for (const l of this.listeners) l(rec);
    return { topic: rec.topic, notAfter: rec.notAfter, uploadedAt: rec.uploadedAt };
  }

  /**
   * Announces each threshold (30, 14, 7, 1 days before notAfter) once: a reminder record and a
   * warning log line `apns push certificate expires soon`. Run daily and at start-up.
   */
  async checkExpiry(): Promise<PushCertificateReminder[]> {
    const rec = await this.certs.get('apns');
    if (!rec) return [];
    const now = this.clock();
    const daysLeft = (rec.notAfter - now) / day;
    const due = reminderThresholdsDays.filter((t) => daysLeft <= t && !rec.remindersSent.includes(t));
    if (due.length === 0) return [];
    // Only the tightest threshold reached is announced; the wider ones are marked as passed.
    const threshold = Math.min(...due);
    const reminder: PushCertificateReminder = {
      id: `${rec.topic}:${rec.notAfter}:${threshold}`,
      topic: rec.topic,
      thresholdDays: threshold,
      notAfter: rec.notAfter,
      at: now,
    };
    await this.reminders.insertMany([reminder]);
    await this.certs.update('apns', { remindersSent: [...rec.remindersSent, ...due] }, { notAfter: rec.notAfter });
    this.log.warn(
      {
        topic: rec.topic,
        notAfter: new Date(rec.notAfter).toISOString(),
        daysLeft: Math.max(0, Math.floor(daysLeft)),
        thresholdDays: threshold,
      },
      'apns push certificate expires soon',
    );
    return [reminder];
  }

  async listReminders(): Promise<PushCertificateReminder[]> {
    return (await this.reminders.find({}, { sort: [{ field: 'at', order: 'ASC' }], limit: 100 })).items;
  }
}
