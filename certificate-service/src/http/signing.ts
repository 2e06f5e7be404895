import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The hub ↔ certificate-service channel is authenticated with a shared secret, both ways:
 *
 *   request:  x-edgehub-signature = hex HMAC-SHA256(secret, METHOD \n path?query \n timestamp \n nonce \n hex SHA-256(body))
 *   response: x-edgehub-response-signature = hex HMAC-SHA256(secret, "response" \n nonce \n status \n hex SHA-256(body))
 *
 * Chosen over mutual TLS because the service *is* the CA: mTLS to it would need a second PKI (or a
 * certificate it issued to itself) and its rotation story, while an HMAC secret works the same in
 * the all-in-one container, behind a proxy and across hosts, and rotates by listing two secrets.
 * The timestamp window plus a remembered nonce stop replays (a replayed renew would mint a
 * certificate); the response signature stops a man in the middle from substituting a certificate.
 * Nothing here is confidential (CSRs and certificates are public), so plain HTTP is acceptable on
 * a private network; the server also takes a TLS key/cert for anything else.
 */
export const signatureHeaders = {
  timestamp: 'x-edgehub-timestamp',
  nonce: 'x-edgehub-nonce',
  signature: 'x-edgehub-signature',
  response: 'x-edgehub-response-signature',
} as const;

/** 256 bits of a random secret, hex or base64; shorter secrets are refused at start. */
export const MIN_SECRET_LENGTH = 32;
export const DEFAULT_CLOCK_SKEW_MS = 60_000;

export function checkSecrets(secrets: string | string[] | undefined): string[] {
  const list = typeof secrets === 'string' ? [secrets] : (secrets ?? []);
  if (list.length === 0) throw new Error('the certificate service needs a shared secret: its hub API is never open');
  for (const s of list) {
    if (typeof s !== 'string' || s.length < MIN_SECRET_LENGTH)
      throw new Error(`each shared secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return list;
}

const sha256 = (body: string | Uint8Array) => createHash('sha256').update(body).digest('hex');

export function requestSignature(
  secret: string,
  r: { method: string; path: string; timestamp: string; nonce: string; body: string | Uint8Array },
): string {
  return createHmac('sha256', secret)
    .update([r.method.toUpperCase(), r.path, r.timestamp, r.nonce, sha256(r.body)].join('\n'))
    .digest('hex');
}

export function responseSignature(secret: string, r: { nonce: string; status: number; body: string | Uint8Array }): string {
  return createHmac('sha256', secret)
    .update(['response', r.nonce, String(r.status), sha256(r.body)].join('\n'))
    .digest('hex');
}

/** Headers for a request the client is about to send. */
export function signRequest(secret: string, method: string, path: string, body: string, now = Date.now()): Record<string, string> {
  const timestamp = String(now);
  const nonce = randomBytes(16).toString('hex');
  return {
    [signatureHeaders.timestamp]: timestamp,
    [signatureHeaders.nonce]: nonce,
    [signatureHeaders.signature]: requestSignature(secret, { method, path, timestamp, nonce, body }),
  };
}

/** Constant-time comparison of two hex signatures (a length difference reveals nothing secret). */
export function signaturesEqual(expected: string, given: string | undefined): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(given, 'latin1'));
}

export type Verification = { ok: true; secret: string; nonce: string } | { ok: false; reason: string };

/**
 * Server side: checks timestamp window, nonce freshness and signature against every configured
 * secret. Reasons are for the server's log only (they never include a secret or a signature).
 */
export class RequestVerifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly secrets: string[],
    private readonly skewMs: number = DEFAULT_CLOCK_SKEW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  verify(r: {
    method: string;
    path: string;
    headers: Record<string, string | string[] | undefined>;
    body: string | Uint8Array;
  }): Verification {
    const header = (name: string) => {
      const v = r.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const timestamp = header(signatureHeaders.timestamp);
    const nonce = header(signatureHeaders.nonce);
    const signature = header(signatureHeaders.signature);
    if (!timestamp || !nonce || !signature) return { ok: false, reason: 'missing signature headers' };
    if (!/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: 'malformed timestamp' };
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(nonce)) return { ok: false, reason: 'malformed nonce' };
    const now = this.now();
    if (Math.abs(now - Number(timestamp)) > this.skewMs) return { ok: false, reason: 'timestamp outside the allowed window' };
    let matched: string | undefined;
    for (const secret of this.secrets) {
      // Every secret is tried (no early exit) so timing does not tell which one matched.
      if (signaturesEqual(requestSignature(secret, { method: r.method, path: r.path, timestamp, nonce, body: r.body }), signature))
        matched ??= secret;
    }
    if (matched === undefined) return { ok: false, reason: 'bad signature' };
    this.prune(now);
    if (this.seen.has(nonce)) return { ok: false, reason: 'replayed nonce' };
    // Remembered for as long as its timestamp could still pass the window check.
    this.seen.set(nonce, Number(timestamp) + this.skewMs);
    return { ok: true, secret: matched, nonce };
  }

  private prune(now: number): void {
    // Map iteration follows insertion order, which is roughly expiry order: stop at the first live one.
    for (const [nonce, expiresAt] of this.seen) {
      if (expiresAt >= now && this.seen.size < 1_000_000) break;
      this.seen.delete(nonce);
    }
  }
}
