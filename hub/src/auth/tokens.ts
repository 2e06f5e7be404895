import { hash } from 'node:crypto';
import { EnosError, codes, requestSignature, safeEqualHex, tokenEncryption, type QueryParams } from '@edgehub/shared';
import type { Collection } from '../store/port.js';
import { ReplayLedger, type TokenRequestRecord } from './replay-ledger.js';
import type { Applications } from '../registry/applications.js';
import { newAccessToken } from '../registry/ids.js';
import { RecordCache } from '../registry/record-cache.js';
import type { ApplicationRecord } from '../registry/records.js';

/** Stored under the digest of the token, so a copy of the store holds no usable bearer token. */
export interface AccessTokenRecord {
  accessToken: string;
  appKey: string;
  appId: string;
  expireAt: number;
  createTime: number;
}

export type { TokenRequestRecord } from './replay-ledger.js';

export interface TokenPolicy {
  /** Lifetime of an access token (EnOS: 7200 s). */
  ttlSeconds: number;
  /** How far a token request's timestamp may be from the server clock. */
  timestampWindowSeconds: number;
}

export interface IssuedToken {
  accessToken: string;
  /** Seconds until it expires. */
  expire: number;
}

export interface TokenRequest {
  appKey: string;
  encryption: string;
  timestamp: number | string;
}

/** The caller of a verified API request. */
export interface Caller {
  app: ApplicationRecord;
}

/**
 * The apim token service (docs/ENOS-PROTOCOL.md §7.2): issues and refreshes access tokens for service
 * accounts and verifies the signature of every API call.
 */
export class TokenService {
  private lastPrune = 0;
  // The store keeps only the token's digest. To hand out "the same token while unexpired" (§7.2)
  // this process remembers the clear tokens it issued itself.
  private readonly clear = new Map<string, string>();
  /** Accepted request signatures (1001 on reuse), shared with the application stream login. */
  readonly ledger: ReplayLedger;
  /**
   * Token records by digest, read on every signed request (registry/record-cache.ts): dropped when
   * a refresh or the expiry sweep deletes the token. The expiry and the request signature are still
   * checked on every request.
   */
  private readonly cache: RecordCache<AccessTokenRecord>;

  constructor(
    private readonly tokens: Collection<AccessTokenRecord>,
    requests: Collection<TokenRequestRecord>,
    private readonly applications: Applications,
    private readonly policy: TokenPolicy,
    private readonly clock: () => number = Date.now,
    cacheRecords = false,
  ) {
    this.ledger = new ReplayLedger(requests, policy.timestampWindowSeconds);
    this.cache = new RecordCache(cacheRecords);
  }

  async get(req: TokenRequest): Promise<IssuedToken> {
    const app = await this.checkRequest(req);
    const now = this.clock();
    // EnOS hands out the same token while it is valid.
    const live = await this.tokens.find(
      { appKey: app.accessKey, expireAt: { $gt: now } },
      { sort: [{ field: 'expireAt', order: 'DESC' }], limit: 1 },
    );
    const current = live.items[0];
    const clear = current && this.clear.get(current.accessToken);
    if (current && clear) return { accessToken: clear, expire: Math.floor((current.expireAt - now) / 1000) };
    // Issued by another node or before a restart: the clear token is unknown here, so issue a new one.
    return { accessToken: await this.issue(app, now), expire: this.policy.ttlSeconds };
  }

  async refresh(req: TokenRequest & { accessToken: string }): Promise<IssuedToken> {
    const app = await this.checkRequest(req);
    const old = await this.tokens.get(digest(req.accessToken));
    if (!old || old.appKey !== app.accessKey) throw new EnosError(codes.tokenRefreshFailed, 'Refresh token failed: unknown access token');
    await this.tokens.delete(old.accessToken).finally(() => this.cache.drop(old.accessToken));
    const now = this.clock();
    return { accessToken: await this.issue(app, now), expire: this.policy.ttlSeconds };
  }

  /**
   * Verifies an API call: a live token and `apim-signature = sha256(token + sorted query + raw body
   * + timestamp + secret)`. Throws 99401 for missing headers or a bad signature, 1203 for an
   * unknown or expired token.
   */
  verify(headers: SignedHeaders, query: QueryParams, rawBody: string | undefined): Promise<Caller> {
    try {
      return Promise.resolve(this.verifyHeld(headers, query, rawBody));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * `verify` answered from memory when the token and its application are held (record-cache.ts):
   * the same checks, in the same order, without a store read or an await, so a signed request's
   * hook can go on synchronously (hub/src/api/auth.ts). Returns the pending store read otherwise;
   * throws what `verify` rejects with.
   */
  verifyHeld(headers: SignedHeaders, query: QueryParams, rawBody: string | undefined): Caller | Promise<Caller> {
    const signed = present(headers);
    const key = digest(signed.token);
    const record = this.cache.peek(key);
    const app = record && this.applications.held(record.appId);
    if (!record || !app) return this.verifyFromStore(key, signed, query, rawBody);
    return this.check(record, app, signed, query, rawBody);
  }

  private async verifyFromStore(key: string, signed: SignedHeaderValues, query: QueryParams, rawBody: string | undefined): Promise<Caller> {
    const record = await this.cache.read(key, () => this.tokens.get(key));
    const app = record && record.expireAt > this.clock() ? await this.applications.get(record.appId) : undefined;
    return this.check(record, app, signed, query, rawBody);
  }

  private check(
    record: AccessTokenRecord | undefined,
    app: ApplicationRecord | undefined,
    { token, timestamp, signature }: SignedHeaderValues,
    query: QueryParams,
    rawBody: string | undefined,
  ): Caller {
    if (!record || record.expireAt <= this.clock() || !app) throw new EnosError(codes.tokenExpired, 'Access token is expired or invalid');
    const want = requestSignature(token, query, rawBody, timestamp, app.accessSecret);
    if (!safeEqualHex(want, signature)) throw new EnosError(codes.unauthenticated, 'apim-signature does not match the request');
    return { app };
  }

  private async checkRequest(req: TokenRequest): Promise<ApplicationRecord> {
    const ts = Number(req.timestamp);
    if (!Number.isFinite(ts)) throw new EnosError(codes.tokenInvalidParam, 'Invalid param: timestamp must be epoch milliseconds');
    const now = this.clock();
    if (Math.abs(now - ts) > this.policy.timestampWindowSeconds * 1000) {
      throw new EnosError(
        codes.tokenInvalidParam,
        `Invalid param: timestamp is more than ${this.policy.timestampWindowSeconds} s from the server time`,
      );
    }
    const app = await this.applications.byAccessKey(req.appKey);
    if (!app) throw new EnosError(codes.tokenAppKeyNotExist, 'appKey does not exist');
    const want = tokenEncryption(req.appKey, String(req.timestamp), app.accessSecret);
    if (!safeEqualHex(want, req.encryption)) throw new EnosError(codes.tokenInvalidEncryption, 'Invalid encryption');
    if (!(await this.ledger.firstUse(req.appKey, req.encryption, now)))
      throw new EnosError(codes.tokenReplayedEncryption, 'Repeated request with duplicated encryption');
    await this.pruneTokens(now);
    return app;
  }

  private async issue(app: ApplicationRecord, now: number): Promise<string> {
    const token = newAccessToken();
    const key = digest(token);
    await this.tokens.insert({
      accessToken: key,
      appKey: app.accessKey,
      appId: app.appId,
      expireAt: now + this.policy.ttlSeconds * 1000,
      createTime: now,
    });
    this.clear.set(key, token);
    return token;
  }

  private async pruneTokens(now: number): Promise<void> {
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    const expired = await this.tokens.find({ expireAt: { $lt: now } }, { limit: 1000 });
    for (const t of expired.items) {
      await this.tokens.delete(t.accessToken).finally(() => this.cache.drop(t.accessToken));
      this.clear.delete(t.accessToken);
    }
  }
}

/** The three apim headers of a signed call (any may be missing). */
export interface SignedHeaders {
  token?: string | undefined;
  timestamp?: string | undefined;
  signature?: string | undefined;
}

/** The three headers, all present. */
type SignedHeaderValues = { token: string; timestamp: string; signature: string };

function present(headers: SignedHeaders): SignedHeaderValues {
  const { token, timestamp, signature } = headers;
  if (!token || !timestamp || !signature) {
    throw new EnosError(codes.unauthenticated, 'Missing apim-accesstoken, apim-timestamp or apim-signature header');
  }
  return { token, timestamp, signature };
}

// One-shot hashing: no Hash object per signed request (docs/BENCHMARKS.md, "REST: where the time goes").
function digest(token: string): string {
  return hash('sha256', token, 'hex');
}
