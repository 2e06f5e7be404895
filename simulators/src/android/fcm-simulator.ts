import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const fcmScopeUrl = 'https://www.googleapis.com/auth/firebase.messaging';

/** One message as the fake accepted it. */
export interface ReceivedMessage {
  token: string;
  data: Record<string, string>;
  android?: Record<string, unknown>;
  name: string;
}

/** An error to answer instead of sending, `times` times (Infinity: until cleared). */
export interface InjectedFcmError {
  status: number;
  errorCode: string;
  times?: number;
  retryAfterSeconds?: number;
}

/** What a device registered to receive: the data of each message sent to its token. */
export type FcmDelivery = (data: Record<string, string>) => void;

const statusNames: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/**
 * A stand-in for Google's OAuth2 token endpoint and FCM HTTP v1 (docs/DEVICE-MANAGEMENT.md,
 * "Android: simulators"), on HTTP/1.1 like the real API accepts:
 * - `POST /token`: the JWT-bearer grant; the assertion's RS256 signature is verified with the
 *   public key of the service account named by `iss` (and `kid` when registered), `aud` must be
 *   this endpoint, `exp` in the future and at most an hour after `iat`, `scope` must include
 *   firebase.messaging. Answers `{access_token, expires_in, token_type}` or `invalid_grant`.
 * - `POST /v1/projects/{project}/messages:send`: a live bearer token of that project; the body
 *   `{message}` with exactly one target, string-valued `data`, a valid `android` block, at most
 *   4096 bytes of payload; answers `{name}` or Google's JSON error with an FcmError errorCode.
 *   Unregistered tokens answer 404 UNREGISTERED; any error can be injected per token.
 * Messages to a registered token are handed to the simulated device.
 */
export class FcmSimulator {
  readonly received: ReceivedMessage[] = [];
  recordLimit = 10_000;
  /** Messages accepted. */
  count = 0;
  /** Access tokens issued. */
  tokensIssued = 0;
  /** Send requests refused 401 (expired or unknown access token). */
  unauthenticated = 0;
  /** Lifetime of issued access tokens. */
  accessTokenTtlSeconds = 3600;
  private readonly keys = new Map<string, { key: KeyObject; kid?: string; projectId: string }>();
  private readonly accessTokens = new Map<string, { projectId: string; expiresAt: number }>();
  private readonly devices = new Map<string, FcmDelivery>();
  private readonly unregistered = new Set<string>();
  private readonly injected = new Map<string, InjectedFcmError & { left: number }>();
  private server?: Server;
  url = '';

  constructor(private readonly clock: () => number = Date.now) {}

  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 30_000;
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Trusts a service account's public key for the JWT grant. */
  addServiceAccount(a: { clientEmail: string; publicKeyPem: string; projectId: string; privateKeyId?: string }): void {
    this.keys.set(a.clientEmail, {
      key: createPublicKey(a.publicKeyPem),
      projectId: a.projectId,
      ...(a.privateKeyId ? { kid: a.privateKeyId } : {}),
    });
  }

  /** A simulated device gets a registration token; messages to it are delivered to `onMessage`. */
  register(onMessage: FcmDelivery): string {
    const token = `${randomBytes(11).toString('base64url')}:APA91b${randomBytes(96).toString('base64url')}`;
    this.devices.set(token, onMessage);
    return token;
  }

  /** The app was uninstalled or the token rotated: sends to it answer 404 UNREGISTERED. */
  unregister(token: string): void {
    this.devices.delete(token);
    this.unregistered.add(token);
  }

  /** Answers the next `times` sends to `token` ('*': any token) with an error. */
  inject(token: string, err: InjectedFcmError): void {
    this.injected.set(token, { ...err, left: err.times ?? 1 });
  }

  /** Every issued access token stops working (as after a revocation): the next send is 401. */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req, 64 * 1024);
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (req.method === 'POST' && path === '/token') return this.token(body, res);
      const m = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(path);
      if (req.method === 'POST' && m) return this.send(decodeURIComponent(m[1]!), req, body, res);
      return googleError(res, 404, 'NOT_FOUND', `no such resource ${path}`);
    } catch {
      if (!res.headersSent) googleError(res, 400, 'INVALID_ARGUMENT', 'unreadable request');
    }
  }

  private token(body: string, res: ServerResponse): void {
    const form = new URLSearchParams(body);
    const refuse = (description: string) => json(res, 400, { error: 'invalid_grant', error_description: description });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return json(res, 400, { error: 'unsupported_grant_type', error_description: 'grant_type must be the JWT-bearer grant' });
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return refuse('the assertion is not a JWT');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return refuse('the assertion is not a JWT');
    }
    if (header['alg'] !== 'RS256') return refuse('alg must be RS256');
    const account = typeof claims['iss'] === 'string' ? this.keys.get(claims['iss']) : undefined;
    if (!account) return refuse('unknown service account');
    if (account.kid && header['kid'] !== undefined && header['kid'] !== account.kid) return refuse('unknown key id');
    const signed = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), account.key, Buffer.from(parts[2]!, 'base64url'));
    if (!signed) return refuse('Invalid JWT Signature.');
    const now = Math.floor(this.clock() / 1000);
    const iat = claims['iat'];
    const exp = claims['exp'];
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= now || iat > now + 60 || exp - iat > 3600)
      return refuse('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    if (claims['aud'] !== this.tokenUrl) return refuse('Invalid JWT: aud is not this token endpoint');
    if (typeof claims['scope'] !== 'string' || !claims['scope'].split(' ').includes(fcmScopeUrl))
      return refuse('the scope must include firebase.messaging');
    const accessToken = `ya29.${randomBytes(48).toString('base64url')}`;
    this.accessTokens.set(accessToken, { projectId: account.projectId, expiresAt: this.clock() + this.accessTokenTtlSeconds * 1000 });
    this.tokensIssued++;
    json(res, 200, { access_token: accessToken, expires_in: this.accessTokenTtlSeconds, token_type: 'Bearer' });
  }

  private send(projectId: string, req: IncomingMessage, body: string, res: ServerResponse): void {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const grant = bearer ? this.accessTokens.get(bearer) : undefined;
    if (!grant || grant.expiresAt <= this.clock()) {
      this.unauthenticated++;
      return googleError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    }
    if (grant.projectId !== projectId) return googleError(res, 403, 'PERMISSION_DENIED', 'the token is not for this project');
    if (Buffer.byteLength(body) > 4096 + 1024) return fcmError(res, 400, 'INVALID_ARGUMENT', 'message is too big');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return fcmError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    const problem = checkMessage(parsed);
    if (problem) return fcmError(res, 400, 'INVALID_ARGUMENT', problem);
    const message = (parsed as { message: Record<string, unknown> }).message;
    const token = message['token'] as string;
    const inj = this.injected.get(token) ?? this.injected.get('*');
    if (inj) {
      inj.left--;
      if (inj.left <= 0) this.injected.delete(this.injected.get(token) === inj ? token : '*');
      if (inj.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(inj.retryAfterSeconds));
      return fcmError(res, inj.status, inj.errorCode, `injected ${inj.errorCode}`);
    }
    if (this.unregistered.has(token) || !this.devices.has(token))
      return fcmError(res, 404, 'UNREGISTERED', 'Requested entity was not found.');
    const name = `projects/${projectId}/messages/0:${this.clock()}%${randomBytes(8).toString('hex')}`;
    const data = (message['data'] ?? {}) as Record<string, string>;
    this.count++;
    if (this.received.length < this.recordLimit)
      this.received.push({ token, data, name, ...(message['android'] ? { android: message['android'] as Record<string, unknown> } : {}) });
    json(res, 200, { name });
    const deliver = this.devices.get(token);
    if (deliver) setImmediate(() => deliver(data));
  }
}

/** Google's checks on a v1 message that matter for a data wake-up; undefined when it is acceptable. */
function checkMessage(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return 'the body must be a JSON object';
  const message = (body as Record<string, unknown>)['message'];
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return 'message is required';
  const m = message as Record<string, unknown>;
  const targets = ['token', 'topic', 'condition'].filter((k) => m[k] !== undefined);
  if (targets.length !== 1) return 'exactly one of token, topic, condition is required';
  if (typeof m['token'] !== 'string' || m['token'] === '') return 'this fake delivers to registration tokens only';
  if (m['data'] !== undefined) {
    if (m['data'] === null || typeof m['data'] !== 'object' || Array.isArray(m['data'])) return 'data must be a map';
    for (const [k, v] of Object.entries(m['data'] as Record<string, unknown>)) {
      if (typeof v !== 'string') return `data.${k} must be a string`;
      if (k === 'from' || k.startsWith('google.') || k.startsWith('gcm.')) return `data key ${k} is reserved`;
    }
  }
  const a = m['android'];
  if (a !== undefined) {
    if (a === null || typeof a !== 'object') return 'android must be an object';
    const android = a as Record<string, unknown>;
    const priority = android['priority'];
    if (priority !== undefined && (typeof priority !== 'string' || !['NORMAL', 'HIGH', 'normal', 'high'].includes(priority)))
      return 'android.priority must be NORMAL or HIGH';
    if (android['ttl'] !== undefined) {
      const ttl = typeof android['ttl'] === 'string' ? /^(\d+)(\.\d{1,9})?s$/.exec(android['ttl']) : null;
      if (!ttl || Number(ttl[1]) > 2_419_200) return 'android.ttl must be a duration of at most 4 weeks, e.g. "3.5s"';
    }
    if (android['collapse_key'] !== undefined && typeof android['collapse_key'] !== 'string')
      return 'android.collapse_key must be a string';
  }
  const payload = Buffer.byteLength(JSON.stringify(m['data'] ?? {}));
  if (payload > 4096) return 'the data payload exceeds 4096 bytes';
  return undefined;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function googleError(res: ServerResponse, status: number, statusName: string, message: string): void {
  json(res, status, { error: { code: status, message, status: statusName } });
}

/** Google's error body with the FcmError detail carrying the FCM error code. */
function fcmError(res: ServerResponse, status: number, errorCode: string, message: string): void {
  json(res, status, {
    error: {
      code: status,
      message,
      status: statusNames[status] ?? 'UNKNOWN',
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }],
    },
  });
}
