import { EventEmitter } from 'node:events';
import { connectSignature, topics } from '@edgehub/shared';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { openMqttClient } from './transport.js';

export interface UplinkIdentity {
  productKey: string;
  deviceKey: string;
  deviceSecret: string;
}

export interface UplinkOptions {
  url: string;
  keepalive: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  replyTimeoutMs: number;
  /** TLS material: the server's CA, and for mutual TLS the device's key and certificate. */
  tls?: { ca?: string | Buffer; key?: string; cert?: string };
}

export interface Reply {
  id: unknown;
  code: number;
  message?: string;
  data: unknown;
}

/** Consecutive CONNACK refusals after which the edge says so as an error and waits the longest backoff. */
export const REFUSALS_BEFORE_ERROR = 3;

/** Why the hub last turned the uplink away, for the edge's status. */
export interface UplinkRefusal {
  /** Consecutive refused CONNECTs; 0 once a connection is accepted. */
  count: number;
  /** The CONNACK return code and its meaning, e.g. `CONNACK 4: bad user name or password`. */
  lastError: string;
  at: number;
}

export interface UplinkEvents {
  up: [];
  down: [reason: string];
  /** The hub refused the CONNECT (CONNACK code ≠ 0). */
  refused: [UplinkRefusal];
  /** A downstream message the hub pushed (commands, combine.*, activation): topic and parsed JSON. */
  downstream: [topic: string, message: { id?: unknown; method?: string; params?: unknown }];
}

/**
 * The edge's single MQTT connection to the hub, as the gateway device: signed CONNECT
 * (docs/ENOS-PROTOCOL.md §2.2), reconnect with exponential backoff and jitter, request/reply by id on
 * `topic_reply`, and downstream pushes (which arrive without a subscription, §0.5).
 */
export class Uplink extends EventEmitter<UplinkEvents> {
  private client?: MqttClient;
  private seq = 0;
  private attempt = 0;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private readonly pending = new Map<string, { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  /** Set while the hub keeps refusing the CONNECT; cleared by an accepted one. */
  refusal: UplinkRefusal | undefined;

  constructor(
    private readonly identity: UplinkIdentity,
    private options: UplinkOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** New endpoint or TLS credentials (certificate renewal): takes effect on the next connection. */
  reconfigure(options: Partial<UplinkOptions>): void {
    this.options = { ...this.options, ...options };
  }

  /** Closes the current connection and opens a new one with the current options. */
  async reconnect(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    if (old) await old.endAsync(true).catch(() => undefined);
    if (!this.stopped) this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('uplink stopped'));
    }
    this.pending.clear();
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true).catch(() => undefined);
  }

  /** Publishes a request (QoS 1) and resolves with its reply; rejects when not connected or on timeout. */
  request(topic: string, method: string, params: unknown, extra: Record<string, unknown> = {}): Promise<Reply> {
    return this.send(topic, method, (id) => JSON.stringify({ id, version: '1.0', method, params, ...extra }));
  }

  /**
   * As request(), with `params` already JSON: the telemetry path joins the buffer's stored entries
   * into it instead of parsing and encoding them again (docs/BENCHMARKS.md, Edge runtime).
   */
  requestEncoded(topic: string, method: string, paramsJson: string, extra: Record<string, unknown> = {}): Promise<Reply> {
    return this.send(topic, method, (id) => {
      const head = JSON.stringify({ id, version: '1.0', method, ...extra });
      return `${head.slice(0, -1)},"params":${paramsJson}}`;
    });
  }

  private send(topic: string, method: string, payloadFor: (id: string) => string): Promise<Reply> {
    const client = this.client;
    if (!client?.connected) return Promise.reject(new Error('uplink is down'));
    const id = String(++this.seq);
    const payload = payloadFor(id);
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply to ${method} within ${this.options.replyTimeoutMs} ms`));
      }, this.options.replyTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      client.publish(topic, payload, { qos: 1 }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  /** Answers a downstream command on its `_reply` topic (QoS 0, like the SDKs, §2.1). */
  reply(commandTopic: string, id: unknown, code: number, data: unknown = {}, message?: string): void {
    const body: Record<string, unknown> = { id, code, data };
    if (message !== undefined) body['message'] = message;
    this.client?.publish(topics.reply(commandTopic), JSON.stringify(body), { qos: 0 });
  }

  private open(): void {
    const ts = String(Date.now());
    const { productKey, deviceKey, deviceSecret } = this.identity;
    const opts: IClientOptions = {
      clientId: `${deviceKey}|securemode=2,signmethod=sha256,timestamp=${ts}|`,
      username: `${deviceKey}&${productKey}`,
      password: connectSignature({ clientId: deviceKey, deviceKey, productKey, timestamp: ts }, deviceSecret, 'sha256'),
      protocolVersion: 4,
      clean: true,
      keepalive: this.options.keepalive,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      // Without this, mqtt-packet keeps a 2-byte Buffer for each of the 65,536 message ids: 6 MiB
      // of heap, for an uplink that has one batch awaiting its reply at a time (docs/BENCHMARKS.md, "Edge runtime").
      writeCache: false,
    };
    const tls = this.options.tls ? { ...this.options.tls, rejectUnauthorized: true, servername: 'localhost' } : undefined;
    const client = openMqttClient(this.options.url, opts, tls);
    this.client = client;
    client.on('connect', () => {
      this.attempt = 0;
      if (this.refusal) this.log.info({ afterRefusals: this.refusal.count }, 'uplink accepted again');
      this.refusal = undefined;
      this.log.info({ url: this.options.url }, 'uplink connected');
      this.emit('up');
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number' && code > 0) return this.refused(code, err.message);
      this.log.warn({ err: err.message }, 'uplink error');
    });
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = undefined;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new Error('uplink closed'));
        this.pending.delete(id);
      }
      this.emit('down', 'connection closed');
      client.removeAllListeners('message');
      client.end(true);
      if (!this.stopped) this.scheduleReconnect();
    });
  }

  /**
   * The hub answered the CONNECT with a refusal (a wrong gateway secret, a disabled gateway):
   * retrying at once will not help. After REFUSALS_BEFORE_ERROR in a row the edge logs an error
   * naming the cause, and waits the longest backoff between attempts (docs/ARCHITECTURE.md,
   * "Edge: refusals").
   */
  private refused(code: number, message: string): void {
    const count = (this.refusal?.count ?? 0) + 1;
    const lastError = `CONNACK ${code}: ${message}`;
    this.refusal = { count, lastError, at: Date.now() };
    this.emit('refused', this.refusal);
    if (count < REFUSALS_BEFORE_ERROR) this.log.warn({ code, refusals: count }, 'uplink refused by the hub');
    else if (count === REFUSALS_BEFORE_ERROR || count % 10 === 0) {
      this.log.error(
        { code, refusals: count, retryEveryMs: this.options.reconnectMaxMs },
        `the hub keeps refusing the gateway's CONNECT (${message}): check identity.gateway (productKey, deviceKey, deviceSecret) and whether the gateway is enabled`,
      );
    }
  }

  private scheduleReconnect(): void {
    if (this.refusal && this.refusal.count >= REFUSALS_BEFORE_ERROR) {
      // Refused again and again: the longest wait, with jitter, until the cause is fixed.
      this.timer = setTimeout(() => this.open(), Math.floor(this.options.reconnectMaxMs * (0.8 + 0.2 * Math.random())));
      this.timer.unref?.();
      return;
    }
    // Exponential backoff with full jitter: a fleet of edges does not reconnect in lockstep.
    const ceiling = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** this.attempt);
    const delay = this.options.reconnectMinMs + Math.floor(Math.random() * Math.max(0, ceiling - this.options.reconnectMinMs));
    this.attempt = Math.min(this.attempt + 1, 16);
    this.timer = setTimeout(() => this.open(), delay);
    this.timer.unref?.();
  }

  private onMessage(topic: string, payload: Buffer): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      return this.log.warn({ topic }, 'undecodable message from the hub');
    }
    if (topic.endsWith('_reply')) {
      const p = this.pending.get(String(msg['id']));
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(String(msg['id']));
      p.resolve({
        id: msg['id'],
        code: Number(msg['code']),
        ...(typeof msg['message'] === 'string' ? { message: msg['message'] } : {}),
        data: msg['data'],
      });
      return;
    }
    this.emit('downstream', topic, msg);
  }
}
