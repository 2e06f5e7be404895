import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Collection, CollectionSpec, Store } from '../../store/port.js';

/**
 * One enrolled Windows device (docs/DEVICE-MANAGEMENT.md, "Windows: enrollment"): its DeviceID and
 * the hash of the per-enrollment secret it authenticates its SyncML sessions with. The secret
 * itself is only in the provisioning document the device received; a new enrollment replaces it.
 */
export interface WindowsEnrollment {
  deviceId: string;
  /** sha256 (hex) of the secret. */
  secretSha256: string;
  enrolledAt: number;
}

export const windowsEnrollmentSpec: CollectionSpec = { name: 'windowsEnrollments', key: 'deviceId' };

export function openWindowsEnrollments(store: Store): Promise<Collection<WindowsEnrollment>> {
  return store.collection<WindowsEnrollment>(windowsEnrollmentSpec);
}

export function newEnrollmentSecret(): { secret: string; sha256: string } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, sha256: sha256Hex(secret) };
}

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Constant-time check of a presented secret against the stored hash. */
export function secretMatches(presented: string, storedSha256: string): boolean {
  const a = Buffer.from(sha256Hex(presented), 'hex');
  const b = Buffer.from(storedSha256, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time comparison of two secrets of any length (the enrollment password). */
export function safeEqualText(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
