import http2 from 'node:http2';
import type { MdmPushProvider, MdmPushTarget, PushOutcome } from './outcome.js';
import { classifyApnsResponse } from './outcome.js';

export const apnsProductionUrl = 'https://api.push.apple.com';

export interface ApnsClientOptions {
  /** https://api.push.apple.com in production; the simulator's URL in tests. */
  url: string;
  /** The MDM push certificate and its key (PEM): the TLS client identity towards APNs. */
  certPem: string;
  keyPem: string;
  /** Extra CAs to trust for the APNs server (the simulator's test CA); the system store otherwise. */
  caPem?: string;
  /** Streams in flight on the one session (APNs allows many; the server's SETTINGS may lower it). */
  maxConcurrentStreams?: number;
  /** apns-expiration: how long APNs may hold the push for an offline device. */
  expirationSeconds?: number;
  requestTimeoutMs?: number;
  clock?: () => number;
}

/**
 * An HTTP/2 APNs provider for MDM wake-ups (docs/DEVICE-MANAGEMENT.md, "Apple: push"): one session,
 * mutual TLS with the push certificate, `POST /3/device/<hex token>` with the body
 * `{"mdm":"<PushMagic>"}`, push type `mdm` and the certificate's topic. The session is reopened
 * after GOAWAY or an error; at most maxConcurrentStreams requests are in flight, the rest wait.
 */
export class ApnsClient implements MdmPushProvider {
  private session?: http2.ClientHttp2Session;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly maxStreams: number;
  private readonly clock: () => number;
  private closed = false;

  constructor(private readonly opts: ApnsClientOptions) {
    this.maxStreams = opts.maxConcurrentStreams ?? 500;
    this.clock = opts.clock ?? Date.now;
  }

  async push(target: MdmPushTarget): Promise<PushOutcome> {
    if (!/^[0-9a-f]{16,200}$/i.test(target.tokenHex)) return { kind: 'token-invalid', status: 400, reason: 'BadDeviceToken' };
    await this.acquire();
    try {
      return await this.request(target);
    } catch (err) {
      return { kind: 'retry', status: 0, reason: (err as Error).message || 'ConnectionFailed' };
    } finally {
      this.release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.session;
    this.session = undefined;
    if (s && !s.closed) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    if (this.closed) throw new Error('ApnsClient closed');
    const session = http2.connect(this.opts.url, {
      cert: this.opts.certPem,
      key: this.opts.keyPem,
      ...(this.opts.caPem ? { ca: this.opts.caPem } : {}),
    });
    const drop = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on('goaway', drop);
    session.on('close', drop);
    session.on('error', drop);
    this.session = session;
    return session;
  }

  private request(target: MdmPushTarget): Promise<PushOutcome> {
    const session = this.connect();
    const body = JSON.stringify({ mdm: target.pushMagic });
    const expiration =
      this.opts.expirationSeconds === undefined ? '0' : String(Math.floor(this.clock() / 1000) + this.opts.expirationSeconds);
    return new Promise<PushOutcome>((resolve, reject) => {
      const req = session.request({
        ':method': 'POST',
        ':path': `/3/device/${target.tokenHex.toLowerCase()}`,
        'content-type': 'application/json',
        'apns-topic': target.topic,
        'apns-push-type': 'mdm',
        'apns-priority': '10',
        'apns-expiration': expiration,
      });
      req.setTimeout(this.opts.requestTimeoutMs ?? 10_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
      let status = 0;
      let apnsId: string | undefined;
      const chunks: Buffer[] = [];
      req.on('response', (headers) => {
        status = Number(headers[':status'] ?? 0);
        const id = headers['apns-id'];
        apnsId = Array.isArray(id) ? id[0] : id;
      });
      req.on('data', (c: Buffer) => {
        if (chunks.length < 16) chunks.push(c);
      });
      req.on('end', () => {
        if (status === 0) return reject(new Error('StreamClosed'));
        resolve(classifyApnsResponse(status, reasonOf(Buffer.concat(chunks)), apnsId));
      });
      req.on('error', reject);
      // A stream reset (timeout, GOAWAY) closes without 'end': retry later.
      req.on('close', () => reject(new Error('StreamClosed')));
      req.end(body);
    });
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.maxStreams) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.inFlight++;
        resolve();
      }),
    );
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }
}

function reasonOf(body: Buffer): string {
  if (body.length === 0) return '';
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { reason?: unknown };
    return typeof parsed.reason === 'string' ? parsed.reason : '';
  } catch {
    return '';
  }
}
