import { X509Certificate, randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface ApnsSimulatorOptions {
  /** The simulator's TLS server identity (issued by a test CA the provider trusts). */
  certPem: string;
  keyPem: string;
  /** CAs that issue acceptable push certificates (Apple's role); client certificates are required. */
  clientCaPem: string;
  host?: string;
  port?: number;
}

/** One push as the simulator received it. */
export interface ReceivedPush {
  tokenHex: string;
  topic: string;
  pushType: string | undefined;
  priority: string | undefined;
  expiration: string | undefined;
  payload: unknown;
  apnsId: string;
  status: number;
}

type Delivery = (pushMagic: string) => void;

interface Injected {
  status: number;
  reason: string;
  remaining: number;
}

/**
 * A faithful stand-in for APNs' HTTP/2 provider API, for MDM pushes (docs/DEVICE-MANAGEMENT.md,
 * "Apple: push"): TLS that requires a client certificate issued by the configured CA; POST only;
 * `/3/device/<hex token>`; `apns-topic` (when sent) must be the certificate's UID topic;
 * `apns-push-type` when sent must be `mdm`; the body must be JSON with only the `mdm` key. Answers
 * carry `apns-id` (the request's, or a new UUID) and Apple's JSON reasons; 410 carries a timestamp.
 * Devices register their token to receive pushes; tests can inject any status for a token.
 */
export class ApnsSimulator {
  readonly received: ReceivedPush[] = [];
  private readonly devices = new Map<string, Delivery>();
  private readonly unregistered = new Map<string, number>();
  private readonly injected = new Map<string, Injected>();
  private server?: http2.Http2SecureServer;
  /** Keep only counts beyond this many received pushes (the benchmark sends tens of thousands). */
  recordLimit = 10_000;
  count = 0;
  /** TLS sessions providers opened (a provider should reuse one). */
  sessions = 0;
  /** Most requests in flight at once, across sessions. */
  maxActiveStreams = 0;
  private activeStreams = 0;
  private readonly open = new Set<http2.ServerHttp2Session>();
  private readonly topicBySession = new WeakMap<http2.Http2Session, string | undefined>();

  constructor(private readonly opts: ApnsSimulatorOptions) {}

  async start(): Promise<string> {
    const server = http2.createSecureServer({
      cert: this.opts.certPem,
      key: this.opts.keyPem,
      ca: this.opts.clientCaPem,
      requestCert: true,
      rejectUnauthorized: true,
      settings: { maxConcurrentStreams: 1000 },
    });
    server.on('stream', (stream, headers) => this.onStream(stream, headers));
    server.on('sessionError', () => undefined);
    server.on('session', (session) => {
      this.sessions++;
      this.open.add(session);
      session.on('close', () => this.open.delete(session));
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const addr = this.server?.address() as AddressInfo;
    return `https://127.0.0.1:${addr.port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Sends GOAWAY on every open session, as APNs does when it rotates connections. */
  goAwayAll(): void {
    for (const s of this.open) s.close();
  }

  /** A device's token: pushes to it are delivered to `deliver` with their PushMagic. */
  register(tokenHex: string, deliver: Delivery): void {
    this.devices.set(tokenHex.toLowerCase(), deliver);
    this.unregistered.delete(tokenHex.toLowerCase());
  }

  /** The app (here: the MDM profile) was removed: APNs answers 410 Unregistered from now on. */
  unregister(tokenHex: string): void {
    this.devices.delete(tokenHex.toLowerCase());
    this.unregistered.set(tokenHex.toLowerCase(), Date.now());
  }

  /** The next `times` pushes to `tokenHex` ('*' = any token) get this status and reason. */
  inject(tokenHex: string | '*', status: number, reason: string, times = 1): void {
    this.injected.set(tokenHex.toLowerCase(), { status, reason, remaining: times });
  }

  private takeInjected(token: string): Injected | undefined {
    for (const key of [token, '*']) {
      const inj = this.injected.get(key);
      if (inj) {
        if (--inj.remaining <= 0) this.injected.delete(key);
        return inj;
      }
    }
    return undefined;
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    this.activeStreams++;
    this.maxActiveStreams = Math.max(this.maxActiveStreams, this.activeStreams);
    stream.on('close', () => this.activeStreams--);
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 8192) chunks.push(c);
    });
    stream.on('error', () => undefined);
    stream.on('end', () => this.handle(stream, headers, Buffer.concat(chunks), size));
  }

  private handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer, size: number): void {
    const requested = headers['apns-id'];
    const apnsId = typeof requested === 'string' && /^[0-9a-f-]{36}$/i.test(requested) ? requested.toLowerCase() : randomUUID();
    const answer = (status: number, reason?: string, extra: Record<string, unknown> = {}) => {
      if (stream.destroyed) return;
      stream.respond({ ':status': status, 'apns-id': apnsId, ...(reason ? { 'content-type': 'application/json' } : {}) });
      stream.end(reason ? JSON.stringify({ reason, ...extra }) : undefined);
    };
    const method = headers[':method'];
    const path = String(headers[':path'] ?? '');
    if (method !== 'POST') return answer(405, 'MethodNotAllowed');
    const m = /^\/3\/device\/([^/?]*)$/.exec(path);
    if (!m) return answer(404, 'BadPath');
    const token = (m[1] ?? '').toLowerCase();
    if (token === '') return answer(400, 'MissingDeviceToken');
    if (!/^[0-9a-f]{64,200}$/.test(token)) return answer(400, 'BadDeviceToken');

    const certTopic = this.clientTopic(stream);
    const topic = headers['apns-topic'];
    if (!certTopic) return answer(403, 'BadCertificate');
    if (topic !== undefined && topic !== certTopic) return answer(400, 'TopicDisallowed');
    const pushType = headers['apns-push-type'] as string | undefined;
    if (pushType !== undefined && pushType !== 'mdm') return answer(400, 'InvalidPushType');
    const priority = headers['apns-priority'] as string | undefined;
    if (priority !== undefined && priority !== '5' && priority !== '10' && priority !== '1') return answer(400, 'BadPriority');
    const expiration = headers['apns-expiration'] as string | undefined;
    if (expiration !== undefined && !/^\d+$/.test(expiration)) return answer(400, 'BadExpirationDate');
    if (size > 4096) return answer(413, 'PayloadTooLarge');
    if (size === 0) return answer(400, 'PayloadEmpty');
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(400, 'PayloadEmpty');
    }
    const magic = (payload as { mdm?: unknown } | null)?.mdm;
    if (typeof magic !== 'string' || Object.keys(payload as object).length !== 1) return answer(400, 'PayloadEmpty');

    const injected = this.takeInjected(token);
    const status = injected?.status ?? (this.unregistered.has(token) ? 410 : this.devices.has(token) ? 200 : 400);
    this.count++;
    if (this.received.length < this.recordLimit) {
      this.received.push({ tokenHex: token, topic: certTopic, pushType, priority, expiration, payload, apnsId, status });
    }
    if (injected) return answer(injected.status, injected.reason, injected.status === 410 ? { timestamp: Date.now() } : {});
    if (status === 410) return answer(410, 'Unregistered', { timestamp: this.unregistered.get(token) });
    if (status === 400) return answer(400, 'BadDeviceToken');
    answer(200);
    const deliver = this.devices.get(token);
    // Delivered after the provider has its answer, as APNs forwards asynchronously.
    if (deliver) setImmediate(() => deliver(magic));
  }

  private clientTopic(stream: http2.ServerHttp2Stream): string | undefined {
    const session = stream.session;
    if (!session) return undefined;
    if (!this.topicBySession.has(session)) this.topicBySession.set(session, this.topicOfPeer(session));
    return this.topicBySession.get(session);
  }

  private topicOfPeer(session: http2.Http2Session): string | undefined {
    const socket = session.socket as TLSSocket | undefined;
    const raw = socket?.getPeerCertificate?.(false)?.raw;
    if (!raw) return undefined;
    const subject = new X509Certificate(raw).subject;
    return subject
      .split('\n')
      .map((l) => /^UID=(.+)$/.exec(l.trim())?.[1])
      .find((t) => t?.startsWith('com.apple.mgmt.'));
  }
}
