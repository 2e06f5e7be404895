import { endpoints, type Endpoint } from './endpoints.js';
import { signedHeaders, tokenEncryption } from './sign.js';
import type { Envelope } from './types.js';

/** The token service's own envelope (docs/ENOS-PROTOCOL.md §7.2). */
interface TokenReply {
  status: number;
  msg: string;
  data: { accessToken: string; expire: number } | null;
}

/** A hub reply with a non-zero code, kept whole so pages can show the code and message. */
export class HubError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Codes that mean the token is gone: the session ends instead of retrying. */
const TOKEN_EXPIRED = 1203;

export type Query = Record<string, string | number | undefined>;

/**
 * A logged-in application. The access token and the secret that signs each call live in this
 * object only (never localStorage or a cookie): a reload or logout forgets them (docs/CONSOLE.md).
 */
export class Session {
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;
  private dmToken: { token: string; until: number } | undefined;

  private constructor(
    readonly appKey: string,
    private readonly secret: string,
    private readonly token: string,
    readonly expiresAt: number,
    public orgId: string,
    private readonly onEnd: (reason: string) => void,
  ) {
    this.expiryTimer = setTimeout(() => this.end('Your session expired. Log in again.'), Math.max(0, expiresAt - Date.now()));
  }

  static async login(appKey: string, secret: string, orgId: string, onEnd: (reason: string) => void): Promise<Session> {
    const timestamp = String(Date.now());
    const res = await fetch(endpoints.tokenGet.path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey, encryption: tokenEncryption(appKey, timestamp, secret), timestamp: Number(timestamp) }),
    });
    const reply = (await res.json()) as TokenReply;
    if (reply.status !== 0 || !reply.data) throw new HubError(reply.status, reply.msg);
    return new Session(appKey, secret, reply.data.accessToken, Date.now() + reply.data.expire * 1000, orgId, onEnd);
  }

  get active(): boolean {
    return !this.ended;
  }

  /** Forgets the token and the secret's use; pages return to the login form. */
  end(reason = ''): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.expiryTimer);
    this.onEnd(reason);
  }

  /**
   * A bearer token of the device-management API (docs/DEVICE-MANAGEMENT.md): its OAuth2 clients are
   * the hub's applications, so the same key and secret get one (client credentials). Kept here, in
   * memory, until a minute before it expires.
   */
  async deviceMgtToken(): Promise<string> {
    if (this.ended) throw new HubError(TOKEN_EXPIRED, 'Not logged in');
    if (this.dmToken && this.dmToken.until > Date.now()) return this.dmToken.token;
    const res = await fetch('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: this.appKey, client_secret: this.secret }).toString(),
    });
    const body = (await res.json()) as { access_token?: string; expires_in?: number; error_description?: string };
    if (!res.ok || !body.access_token) throw new HubError(res.status, body.error_description ?? 'device-management token refused');
    this.dmToken = { token: body.access_token, until: Date.now() + ((body.expires_in ?? 3600) - 60) * 1000 };
    return body.access_token;
  }

  /** Calls the device-management REST with the bearer token; throws HubError with its message on failure. */
  async dm<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const token = await this.deviceMgtToken();
    const res = await fetch(path, {
      method,
      headers:
        body === undefined
          ? { authorization: `Bearer ${token}` }
          : { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return dmReply<T>(res);
  }

  /** An endpoint of the device-management or application REST, its {params} filled in, with an optional query. */
  dmAt<T>(e: Endpoint, params: Record<string, string> = {}, body?: unknown, query: Query = {}): Promise<T> {
    return this.dm<T>(e.method, withQuery(fillPath(e.path, params), query), body);
  }

  /** Streams a file as application/octet-stream (the publisher's artifact upload). */
  async dmUpload<T>(e: Endpoint, params: Record<string, string>, file: Blob, query: Query = {}): Promise<T> {
    const token = await this.deviceMgtToken();
    const res = await fetch(withQuery(fillPath(e.path, params), query), {
      method: e.method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: file,
    });
    return dmReply<T>(res);
  }

  /** The signed request of an endpoint: URL and headers (the body is signed as sent). */
  signed(e: Endpoint, query: Query, rawBody?: string, orgScoped = true): { url: URL; headers: Record<string, string> } {
    if (this.ended) throw new HubError(TOKEN_EXPIRED, 'Not logged in');
    const url = new URL(e.path, location.origin);
    if (e.action) url.searchParams.set('action', e.action);
    if (orgScoped) url.searchParams.set('orgId', this.orgId);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return { url, headers: signedHeaders(this.token, url, rawBody, this.secret, Date.now()) };
  }

  /** Calls an endpoint; resolves with the whole envelope when code is 0, throws HubError otherwise. */
  async call<T>(e: Endpoint, query: Query = {}, body?: unknown, opts: { orgScoped?: boolean } = {}): Promise<Envelope<T>> {
    const raw = body === undefined ? undefined : JSON.stringify(body);
    const { url, headers } = this.signed(e, query, raw, opts.orgScoped ?? true);
    const res = await fetch(url, {
      method: e.method,
      headers: raw === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(raw === undefined ? {} : { body: raw }),
    });
    const reply = (await res.json().catch(() => ({ code: res.status, msg: res.statusText, data: null }))) as Envelope<T>;
    if (reply.code === TOKEN_EXPIRED) this.end('Your session expired. Log in again.');
    if (reply.code !== 0) throw new HubError(reply.code, reply.msg);
    return reply;
  }
}

/** The path of an endpoint template (`/groups/id/{groupId}`) with its parameters encoded. */
export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k] ?? ''));
}

function withQuery(path: string, query: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

async function dmReply<T>(res: Response): Promise<T> {
  const reply = (await res.json().catch(() => ({}))) as { message?: string };
  if (!res.ok) throw new HubError(res.status, reply.message ?? res.statusText);
  return reply as T;
}
