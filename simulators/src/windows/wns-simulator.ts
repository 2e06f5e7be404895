import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A faithful stand-in for Windows Push Notification Services (the real one is on the internet):
 *   POST /accesstoken.srf   OAuth2 client credentials (form: grant_type, client_id, client_secret,
 *                           scope=notify.windows.com) → { access_token, token_type, expires_in }
 *   POST /?token=<channel>  a notification to a channel: needs a current bearer token (401
 *                           otherwise), X-WNS-Type wns/raw with application/octet-stream; 200 with
 *                           X-WNS-Msg-ID and the push is delivered to the channel's device; 410 for
 *                           an expired channel, 404 for an unknown one.
 * Error answers on demand: expireTokens() (next pushes 401), expireChannel() (410), failNext()
 * (e.g. 429 or 503 with Retry-After).
 */
export interface WnsSimulatorOptions {
  clientId: string;
  clientSecret: string;
  tokenTtlSeconds?: number;
}

export interface WnsReceived {
  channel: string;
  type: string;
  contentType: string;
  cachePolicy: string;
  at: number;
}

export class WnsSimulator {
  private server?: Server;
  private base = '';
  private readonly tokens = new Set<string>();
  private readonly channels = new Map<string, { deliver: () => void; expired: boolean }>();
  private failures: { status: number; retryAfter?: number }[] = [];
  tokensIssued = 0;
  pushes = 0;
  unauthorized = 0;
  /** The last pushes accepted (at most 1000 kept). */
  readonly received: WnsReceived[] = [];

  constructor(private readonly opts: WnsSimulatorOptions) {}

  get url(): string {
    return this.base;
  }

  get tokenUrl(): string {
    return `${this.base}/accesstoken.srf`;
  }

  /** The origin to allow in HUB_WNS_CHANNEL_ORIGINS. */
  get origin(): string {
    return this.base;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A new channel for a device; `deliver` is called for every raw push accepted on it. */
  createChannel(deliver: () => void): string {
    const id = randomBytes(18).toString('base64url');
    this.channels.set(id, { deliver, expired: false });
    return `${this.base}/?token=${id}`;
  }

  /** The channel expired (as after its ~15 days): pushes to it answer 410. */
  expireChannel(uri: string): void {
    const c = this.channels.get(new URL(uri).searchParams.get('token') ?? '');
    if (c) c.expired = true;
  }

  /** Every token issued so far stops working (pushes answer 401 until a new one is fetched). */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** The next `count` pushes answer `status` (e.g. 429, 503), with Retry-After seconds if given. */
  failNext(status: number, count = 1, retryAfter?: number): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, ...(retryAfter !== undefined ? { retryAfter } : {}) });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.base);
    if (req.method === 'POST' && url.pathname === '/accesstoken.srf') return this.token(body, res);
    if (req.method === 'POST' && url.pathname === '/' && url.searchParams.has('token')) return this.push(req, url, res);
    res.writeHead(404).end();
  }

  private token(body: string, res: ServerResponse): void {
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials' || form.get('scope') !== 'notify.windows.com') {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_request' }));
      return;
    }
    if (form.get('client_id') !== this.opts.clientId || form.get('client_secret') !== this.opts.clientSecret) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client' }));
      return;
    }
    const token = randomBytes(24).toString('base64url');
    this.tokens.add(token);
    this.tokensIssued++;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: token, token_type: 'bearer', expires_in: this.opts.tokenTtlSeconds ?? 86_400 }));
  }

  private push(req: IncomingMessage, url: URL, res: ServerResponse): void {
    const auth = req.headers['authorization'] ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!this.tokens.has(token)) {
      this.unauthorized++;
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token",error_description="Token expired"' }).end();
      return;
    }
    const type = String(req.headers['x-wns-type'] ?? '');
    const contentType = String(req.headers['content-type'] ?? '');
    if (type !== 'wns/raw' || contentType !== 'application/octet-stream') {
      res.writeHead(400).end();
      return;
    }
    const failure = this.failures.shift();
    if (failure) {
      res.writeHead(failure.status, failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {}).end();
      return;
    }
    const channel = this.channels.get(url.searchParams.get('token') ?? '');
    if (!channel) {
      res.writeHead(404).end();
      return;
    }
    if (channel.expired) {
      res.writeHead(410).end();
      return;
    }
    this.pushes++;
    this.received.push({
      channel: url.toString(),
      type,
      contentType,
      cachePolicy: String(req.headers['x-wns-cache-policy'] ?? ''),
      at: Date.now(),
    });
    if (this.received.length > 1000) this.received.shift();
    res.writeHead(200, { 'x-wns-msg-id': randomBytes(8).toString('hex'), 'x-wns-status': 'received' }).end();
    setImmediate(channel.deliver);
  }
}
