import { codes } from '../errors.js';
import { signedHeaders, tokenEncryption } from '../signing/apim.js';

/** A response of the Connection Service or admin API, with its HTTP status. */
export interface ApiResponse<T = unknown> {
  status: number;
  code: number;
  msg: string;
  requestId?: string;
  data: T;
  pagination?: { pageNo: number; pageSize: number; totalSize: number };
  successSize?: number;
  totalSize?: number;
}

export interface ApiClientOptions {
  baseUrl: string;
  accessKey: string;
  accessSecret: string;
  /** Refresh the token this many seconds before it expires. */
  refreshMarginSeconds?: number;
  /** Epoch milliseconds for the token request's timestamp (default Date.now). */
  clock?: () => number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ApiError';
  }
}

/**
 * A client of the EnOS-style REST API: gets an apim token with the service account and signs every
 * call (docs/ENOS-PROTOCOL.md §7.2). Used by the CLI, the edge and the tests. It is @edgehub/shared's one
 * network I/O, on a subpath of its own (`@edgehub/shared/api-client`) so that the index stays free of it.
 */
export class ApiClient {
  private token?: { value: string; expiresAt: number };
  private pendingToken?: Promise<string>;

  constructor(private readonly opts: ApiClientOptions) {}

  /** A live access token, fetched or refreshed when needed. */
  async accessToken(): Promise<string> {
    const margin = (this.opts.refreshMarginSeconds ?? 300) * 1000;
    if (this.token && this.token.expiresAt - margin > Date.now()) return this.token.value;
    this.pendingToken ??= this.fetchToken().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  /**
   * A token request is signed over the millisecond it is sent in, and the hub accepts each signature
   * once (docs/PROTOCOL.md §1, 1001). Another client of the same application (a second CLI process,
   * another edge) signing in the same millisecond gets 1001 for a request it never sent twice: it
   * signs again in a later millisecond, a few times at most.
   */
  private async fetchToken(): Promise<string> {
    const clock = this.opts.clock ?? Date.now;
    let last = -1;
    for (let attempt = 1; ; attempt++) {
      let timestamp = clock();
      while (timestamp <= last) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        timestamp = clock();
      }
      last = timestamp;
      const res = await fetch(new URL('/apim-token-service/v2.0/token/get', this.opts.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json;charset=UTF-8' },
        body: JSON.stringify({
          appKey: this.opts.accessKey,
          encryption: tokenEncryption(this.opts.accessKey, timestamp, this.opts.accessSecret),
          timestamp,
        }),
      });
      const body = (await res.json()) as { status: number; msg: string; data?: { accessToken: string; expire: number } };
      if (body.status === codes.tokenReplayedEncryption && attempt < 5) continue;
      if (body.status !== 0 || !body.data) throw new ApiError(res.status, body.status, body.msg);
      this.token = { value: body.data.accessToken, expiresAt: Date.now() + body.data.expire * 1000 };
      return this.token.value;
    }
  }

  /** A signed call; resolves with the envelope whatever its code. */
  async call<T = unknown>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    query: Record<string, string> = {},
    body?: unknown,
  ): Promise<ApiResponse<T>> {
    const url = new URL(path, this.opts.baseUrl);
    for (const [k, v] of Object.entries(query)) url.searchParams.append(k, v);
    const raw = body === undefined ? undefined : JSON.stringify(body);
    const token = await this.accessToken();
    const headers: Record<string, string> = signedHeaders(token, url, raw, this.opts.accessSecret);
    if (raw !== undefined) headers['content-type'] = 'application/json;charset=UTF-8';
    const init: RequestInit = { method, headers };
    if (raw !== undefined) init.body = raw;
    const res = await fetch(url, init);
    const text = await res.text();
    let parsed: Omit<ApiResponse<T>, 'status'>;
    try {
      parsed = JSON.parse(text) as Omit<ApiResponse<T>, 'status'>;
    } catch {
      throw new ApiError(res.status, -1, `non-JSON response: ${text.slice(0, 200)}`);
    }
    return { ...parsed, status: res.status };
  }

  /** A signed call that throws ApiError unless the code is 0. */
  async ok<T = unknown>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    query: Record<string, string> = {},
    body?: unknown,
  ): Promise<ApiResponse<T>> {
    const r = await this.call<T>(method, path, query, body);
    if (r.code !== 0) throw new ApiError(r.status, r.code, r.msg);
    return r;
  }

  /** Connection Service call: `/connect-service/v2.1/{resource}?action=…&orgId=…`. */
  connect<T = unknown>(
    orgId: string,
    method: 'GET' | 'POST',
    resource: string,
    action: string,
    query: Record<string, string> = {},
    body?: unknown,
  ): Promise<ApiResponse<T>> {
    return this.call<T>(method, `/connect-service/v2.1/${resource}`, { action, orgId, ...query }, body);
  }
}
