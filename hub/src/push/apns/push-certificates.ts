import type { Logger } from 'pino';
import type { Collection, Store } from '../../store/port.js';
import { PushCertificateError, parsePushCertificate } from './push-certificate.js';

/** The one MDM push certificate of this hub. The key is a secret: never logged, never returned. */
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

  private constructor(
    private readonly certs: Collection<PushCertificateRecord>,
    private readonly reminders: Collection<PushCertificateReminder>,
    private readonly log: Logger,
    private readonly clock: () => number,
  ) {}

  static async open(store: Store, log: Logger, clock: () => number = Date.now): Promise<PushCertificates> {
    return new PushCertificates(
      await store.collection<PushCertificateRecord>({ name: 'apnsPushCertificates', key: 'id' }),
      await store.collection<PushCertificateReminder>({ name: 'apnsPushCertificateReminders', key: 'id', indexes: ['topic'] }),
      log,
      clock,
    );
  }

  current(): Promise<PushCertificateRecord | undefined> {
    return this.certs.get('apns');
  }

  onChange(listener: (rec: PushCertificateRecord) => void): void {
    this.listeners.push(listener);
  }

  async upload(certText: string, keyText: string | undefined, force = false): Promise<PushCertificateView> {
    const parsed = parsePushCertificate(certText, keyText, this.clock());
    const existing = await this.current();
    if (existing && existing.topic !== parsed.topic && !force) {
      throw new PushCertificateError(
        'TopicChanged',
        `the certificate's topic ${parsed.topic} differs from the current topic ${existing.topic}; enrolled devices would have to enroll again (force to replace)`,
      );
    }
    const rec: PushCertificateRecord = { id: 'apns', ...parsed, uploadedAt: this.clock(), remindersSent: [] };
    if (existing) await this.certs.update('apns', rec);
    else await this.certs.insert(rec);
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
    const rec = await this.current();
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
