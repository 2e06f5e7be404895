import { createHash, randomBytes } from 'node:crypto';
import type { Collection, Store } from '../../store/port.js';

/**
 * Enrollment tokens (docs/DEVICE-MANAGEMENT.md, "Apple: which organization"): each enrollment
 * profile the management REST hands out carries a fresh token in its CheckInURL; the phone's
 * Authenticate arrives on that URL and enrolls into the organization that asked for the profile.
 * Only the token's SHA-256 is stored, as for access tokens (docs/SECURITY.md, "Secrets at rest").
 */
export interface IosEnrollmentToken {
  tokenHash: string;
  orgId: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export class IosEnrollmentTokens {
  private constructor(
    private readonly tokens: Collection<IosEnrollmentToken>,
    private readonly clock: () => number,
  ) {}

  static async open(store: Store, clock: () => number): Promise<IosEnrollmentTokens> {
    return new IosEnrollmentTokens(await store.collection<IosEnrollmentToken>({ name: 'iosEnrollmentTokens', key: 'tokenHash' }), clock);
  }

  /** A new token for `orgId`, valid for `ttlSeconds` (the profile can be installed until then). */
  async create(orgId: string, createdBy: string, ttlSeconds: number): Promise<string> {
    const token = randomBytes(24).toString('base64url');
    const now = this.clock();
    await this.tokens.insert({ tokenHash: hash(token), orgId, createdBy, createdAt: now, expiresAt: now + ttlSeconds * 1000 });
    return token;
  }

  /** The organization of a valid, unexpired token, or undefined. */
  async orgOf(token: string): Promise<string | undefined> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(token)) return undefined;
    const rec = await this.tokens.get(hash(token));
    return rec && rec.expiresAt > this.clock() ? rec.orgId : undefined;
  }
}
