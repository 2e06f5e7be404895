import { sign } from 'node:crypto';
import type { ServiceAccount } from './service-account.js';

export const fcmScope = 'https://www.googleapis.com/auth/firebase.messaging';
export const googleTokenUrl = 'https://oauth2.googleapis.com/token';

/** The token endpoint refused the service account (400/401): an operator must fix the key file. */
export class TokenRefusedError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRefusedError';
  }
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** A signed JWT assertion for the OAuth2 JWT-bearer grant (RS256, one hour). */
export function signAssertion(account: ServiceAccount, audience: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(account.privateKeyId ? { kid: account.privateKeyId } : {}) };
  const claims = { iss: account.clientEmail, scope: fcmScope, aud: audience, iat, exp: iat + 3600 };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), account.privateKey))}`;
}

/**
 * OAuth2 access tokens for FCM (docs/DEVICE-MANAGEMENT.md, "Android: FCM"): a service-account JWT
 * exchanged at the token endpoint; the token is cached until a minute before it expires and
 * shared by every push; concurrent callers wait for one exchange. `invalidate` drops a token the
 * send endpoint refused (401) so the next call fetches a new one.
 */
export class FcmAccessTokens {
  private cached?: { token: string; expiresAt: number };
  private inFlight?: Promise<string>;
  /** Exchanges done (for tests and the benchmark). */
  exchanges = 0;

  constructor(
    private readonly account: ServiceAccount,
    private readonly tokenUrl: string,
    private readonly clock: () => number = Date.now,
    private readonly marginMs = 60_000,
  ) {}

  get(): Promise<string> {
    if (this.cached && this.cached.expiresAt - this.marginMs > this.clock()) return Promise.resolve(this.cached.token);
    this.inFlight ??= this.exchange().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async exchange(): Promise<string> {
    const now = this.clock();
    const assertion = signAssertion(this.account, this.tokenUrl, now);
    const res = await fetch(this.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>;
    } catch {
      // a non-JSON answer is handled by the status checks below
    }
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      const reason = typeof body['error'] === 'string' ? body['error'] : String(res.status);
      throw new TokenRefusedError(res.status, `FCM token endpoint refused the service account: ${reason}`);
    }
    if (!res.ok) throw new Error(`FCM token endpoint answered ${res.status}`);
    const token = body['access_token'];
    const expiresIn = body['expires_in'];
    if (typeof token !== 'string' || token === '' || typeof expiresIn !== 'number' || expiresIn <= 0)
      throw new Error('FCM token endpoint: no access_token/expires_in in the answer');
    this.exchanges++;
    this.cached = { token, expiresAt: now + expiresIn * 1000 };
    return token;
  }
}
