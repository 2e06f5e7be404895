/** WNS credentials and where to get tokens (docs/CONFIGURATION.md, HUB_WNS_* rows). */
export interface WnsCredentials {
  /** OAuth2 token endpoint: https://login.live.com/accesstoken.srf, or the simulator's. */
  tokenUrl: string;
  /** The app's package SID (ms-app://…). */
  clientId: string;
  clientSecret: string;
}

export const wnsProductionTokenUrl = 'https://login.live.com/accesstoken.srf';

interface CachedToken {
  value: string;
  expiresAt: number;
}

/**
 * The WNS access token (docs/DEVICE-MANAGEMENT.md, "Windows: push"): OAuth2 client credentials
 * with scope notify.windows.com, cached until shortly before it expires; concurrent callers share
 * one request. `invalidate` drops a token WNS refused (401) so the next call fetches a new one.
 */
export class WnsTokenSource {
  private cached?: CachedToken;
  private inFlight?: Promise<string>;
  /** Tokens fetched so far (a metric, and what the tests observe). */
  fetched = 0;

  constructor(
    private readonly creds: WnsCredentials,
    private readonly clock: () => number = Date.now,
    /** Renew this long before expiry. */
    private readonly marginMs = 60_000,
  ) {}

  async token(): Promise<string> {
    if (this.cached && this.cached.expiresAt - this.marginMs > this.clock()) return this.cached.value;
    this.inFlight ??= this.fetch().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Forgets `value` if it is still the cached token (another caller may have renewed it already). */
  invalidate(value: string): void {
    if (this.cached?.value === value) this.cached = undefined;
  }

  private async fetch(): Promise<string> {
    const res = await fetch(this.creds.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.creds.clientId,
        client_secret: this.creds.clientSecret,
        scope: 'notify.windows.com',
      }).toString(),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (!res.ok) throw new WnsTokenError(res.status, `WNS token endpoint answered ${res.status}`);
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      throw new WnsTokenError(res.status, 'WNS token endpoint answered no JSON');
    }
    const b = (body ?? {}) as { access_token?: unknown; expires_in?: unknown };
    if (typeof b.access_token !== 'string' || b.access_token === '') throw new WnsTokenError(res.status, 'no access_token in the answer');
    const expiresIn = typeof b.expires_in === 'number' ? b.expires_in : Number(b.expires_in ?? 86_400);
    this.cached = { value: b.access_token, expiresAt: this.clock() + (Number.isFinite(expiresIn) ? expiresIn : 86_400) * 1000 };
    this.fetched++;
    return b.access_token;
  }
}

export class WnsTokenError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'WnsTokenError';
  }
}
