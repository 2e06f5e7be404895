import { createHash, randomBytes } from 'node:crypto';
import { safeEqual } from '@edgehub/shared';
import type { Applications } from '../registry/applications.js';
import type { Collection, CollectionSpec } from '../store/port.js';

/**
 * OAuth2 client-credentials tokens for the device-management REST (docs/DEVICE-MANAGEMENT.md,
 * "Authentication"). Clients are the hub's applications: client_id = accessKey, client_secret =
 * accessSecret; a token acts in the application's organization with the scopes it was given.
 * Only a SHA-256 of each token is stored.
 */

export const dmScopes = [
  'dm:devices:view',
  'dm:devices:manage',
  'dm:devices:ops:view',
  'dm:devices:ops:add',
  'dm:groups:view',
  'dm:groups:manage',
  'dm:device-types:view',
  // Application management (docs/DEVICE-MANAGEMENT.md, "Applications: REST").
  'am:publisher:view',
  'am:publisher:manage',
  'am:publisher:review',
  'am:store:view',
  'am:store:subscribe',
  'dm:policies:view',
  'dm:policies:manage',
] as const;
export type DmScope = (typeof dmScopes)[number];

export interface OAuthTokenRecord {
  tokenHash: string;
  orgId: string;
  clientId: string;
  scopes: DmScope[];
  expiresAt: number;
}

export const oauthTokenSpec: CollectionSpec = { name: 'oauthTokens', key: 'tokenHash', indexes: ['expiresAt'] };

export interface DmCaller {
  orgId: string;
  clientId: string;
  scopes: readonly DmScope[];
}

/** RFC 6749 §5.2 errors. */
export class OAuthError extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type',
    message: string,
  ) {
    super(message);
  }
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export class OAuthTokens {
  constructor(
    private readonly tokens: Collection<OAuthTokenRecord>,
    private readonly applications: Applications,
    private readonly ttlSeconds: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** client_credentials grant: checks the client, narrows the scopes, issues a bearer token. */
  async issue(
    clientId: string,
    clientSecret: string,
    scope: string | undefined,
  ): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number; scope: string; orgId: string }> {
    const app = await this.applications.byAccessKey(clientId);
    // Compared in constant time (an unknown client is compared too, against nothing).
    const ok = safeEqual(clientSecret, app?.accessSecret ?? '');
    if (!ok || !app) throw new OAuthError(401, 'invalid_client', 'unknown client or wrong secret');
    const asked = scope === undefined || scope.trim() === '' ? [...dmScopes] : scope.trim().split(/\s+/);
    const unknown = asked.filter((s) => !(dmScopes as readonly string[]).includes(s));
    if (unknown.length > 0) throw new OAuthError(400, 'invalid_scope', `unknown scope ${unknown.join(' ')}`);
    const scopes = [...new Set(asked)] as DmScope[];
    const token = randomBytes(32).toString('base64url');
    const now = this.clock();
    await this.tokens.insert({ tokenHash: hash(token), orgId: app.orgId, clientId, scopes, expiresAt: now + this.ttlSeconds * 1000 });
    return { access_token: token, token_type: 'Bearer', expires_in: this.ttlSeconds, scope: scopes.join(' '), orgId: app.orgId };
  }

  /** The caller behind a bearer token, or undefined (unknown, expired, or its client's secret rotated away). */
  async verify(token: string): Promise<DmCaller | undefined> {
    const rec = await this.tokens.get(hash(token));
    if (!rec || rec.expiresAt <= this.clock()) return undefined;
    const app = await this.applications.byAccessKey(rec.clientId);
    if (!app || app.orgId !== rec.orgId) return undefined;
    return { orgId: rec.orgId, clientId: rec.clientId, scopes: rec.scopes };
  }

  /** Drops expired tokens. */
  async sweep(): Promise<void> {
    const old = await this.tokens.find({ expiresAt: { $lte: this.clock() } }, { limit: 1000 });
    for (const t of old.items) await this.tokens.delete(t.tokenHash);
  }
}
