import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Collection, Store } from '../../store/port.js';

/**
 * The agent credential of one Android enrollment (docs/DEVICE-MANAGEMENT.md, "Android: device
 * authentication"): a random bearer token handed out once at enrollment; only its SHA-256 is kept.
 * A new enrollment of the same device replaces it; disenrollment deletes it.
 */
export interface AndroidEnrollment {
  deviceIdentifier: string;
  tokenSha256: string;
  enrolledAt: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class AndroidEnrollments {
  private constructor(private readonly records: Collection<AndroidEnrollment>) {}

  static async open(store: Store): Promise<AndroidEnrollments> {
    return new AndroidEnrollments(await store.collection<AndroidEnrollment>({ name: 'androidEnrollments', key: 'deviceIdentifier' }));
  }

  /** Issues a new token for the device (the old one stops working); returns it once. */
  async issue(deviceIdentifier: string, now: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const rec: AndroidEnrollment = { deviceIdentifier, tokenSha256: sha256(token).toString('hex'), enrolledAt: now };
    if (await this.records.get(deviceIdentifier)) await this.records.update(deviceIdentifier, rec);
    else await this.records.insert(rec);
    return token;
  }

  /** True when `token` is the device's current token (constant-time comparison of the digests). */
  async verify(deviceIdentifier: string, token: string): Promise<boolean> {
    const rec = await this.records.get(deviceIdentifier);
    const presented = sha256(token);
    const expected = rec ? Buffer.from(rec.tokenSha256, 'hex') : randomBytes(32);
    return timingSafeEqual(presented, expected) && rec !== undefined;
  }

  async remove(deviceIdentifier: string): Promise<void> {
    await this.records.delete(deviceIdentifier);
  }
}
