import { createHash } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export type Digest = 'sha256' | 'sha1' | 'md5';

export interface DeviceCredentials {
  productKey: string;
  deviceKey: string;
  /** deviceSecret (securemode 2) or productSecret (securemode 3). */
  secret: string;
}

export interface ConnectOptions {
  /** The signmethod label sent in the ClientId (`sha256`, `hmacsha1`, …). */
  signMethod?: string;
  /** The digest actually computed (EnOS labels are aliases of plain digests). */
  digest?: Digest;
  upperCase?: boolean;
  clientId?: string;
  timestamp?: string;
  secureMode?: number;
  /** Appended to the ClientId's `cid` part, e.g. `{compress=GZIP}`. */
  extraInfo?: string;
  clean?: boolean;
  /** A different password than the right one (bad-signature tests). */
  password?: string;
  mqtt?: IClientOptions;
}

/** The CONNECT password, computed here independently of the hub's code (docs/ENOS-PROTOCOL.md §2.2). */
export function connectPassword(cid: string, c: DeviceCredentials, ts: string, digest: Digest): string {
  return createHash(digest)
    .update(`clientId${cid}deviceKey${c.deviceKey}productKey${c.productKey}timestamp${ts}${c.secret}`, 'utf8')
    .digest('hex');
}

/** The sub-device sign of topo.add and combine.login (§5.1, §5.2), also computed here. */
export function subDeviceSign(clientId: string, c: DeviceCredentials, ts: string | number, digest: Digest = 'sha256'): string {
  return createHash(digest)
    .update(`clientId${clientId}deviceKey${c.deviceKey}productKey${c.productKey}timestamp${ts}${c.secret}`, 'utf8')
    .digest('hex');
}

export class ConnectRefused extends Error {
  constructor(readonly returnCode: number | undefined) {
    super(`CONNACK ${returnCode}`);
  }
}

export interface Reply {
  id: unknown;
  code: number;
  message?: string;
  data: unknown;
}

/** A real mqtt.js client acting as an EnOS device or gateway. */
export class TestDevice {
  private seq = 0;
  private readonly messages: { topic: string; payload: Buffer }[] = [];
  private readonly waiters: {
    match: (topic: string, payload: Buffer) => boolean;
    resolve: (m: { topic: string; payload: Buffer }) => void;
  }[] = [];

  constructor(
    readonly client: MqttClient,
    readonly creds: DeviceCredentials,
  ) {
    client.on('message', (topic, payload) => {
      const i = this.waiters.findIndex((w) => w.match(topic, payload));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve({ topic, payload });
      else this.messages.push({ topic, payload });
    });
  }

  /** Waits for a message matching the predicate (already received ones count). */
  next(match: (topic: string, payload: Buffer) => boolean, timeoutMs = 5000): Promise<{ topic: string; payload: Buffer; json: any }> {
    const i = this.messages.findIndex((m) => match(m.topic, m.payload));
    const withJson = (m: { topic: string; payload: Buffer }) => ({ ...m, json: safeJson(m.payload) });
    if (i >= 0) return Promise.resolve(withJson(this.messages.splice(i, 1)[0]!));
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (m: { topic: string; payload: Buffer }) => {
          clearTimeout(timer);
          resolve(withJson(m));
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Publishes a request and resolves with the `_reply` carrying the same id. */
  async request(
    topic: string,
    method: string,
    params: unknown,
    opts: { id?: unknown; extra?: Record<string, unknown>; qos?: 0 | 1; raw?: Buffer | string } = {},
  ): Promise<Reply> {
    const id = opts.id ?? String(++this.seq);
    const payload = opts.raw ?? JSON.stringify({ id, version: '1.0', method, params, ...opts.extra });
    const reply = this.next((t, p) => t === `${topic}_reply` && sameId(safeJson(p)?.id, id));
    await this.client.publishAsync(topic, payload, { qos: opts.qos ?? 1 });
    return (await reply).json as Reply;
  }

  async end(): Promise<void> {
    await this.client.endAsync(true);
  }
}

function sameId(a: unknown, b: unknown): boolean {
  return a === b;
}

function safeJson(p: Buffer): any {
  try {
    return JSON.parse(p.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Connects as an EnOS device: ClientId `cid|securemode=…,signmethod=…,timestamp=…|`, username `dk&pk`. */
export async function connectDevice(url: string, creds: DeviceCredentials, o: ConnectOptions = {}): Promise<TestDevice> {
  const ts = o.timestamp ?? String(Date.now());
  const cid = (o.clientId ?? creds.deviceKey) + (o.extraInfo ?? '');
  const label = o.signMethod ?? 'sha256';
  const digest = o.digest ?? 'sha256';
  let password = o.password ?? connectPassword(cid, creds, ts, digest);
  if (o.upperCase) password = password.toUpperCase();
  const client = mqtt.connect(url, {
    clientId: `${cid}|securemode=${o.secureMode ?? 2},signmethod=${label},timestamp=${ts}|`,
    username: `${creds.deviceKey}&${creds.productKey}`,
    password,
    protocolVersion: 4,
    clean: o.clean ?? true,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...o.mqtt,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(new TestDevice(client, creds)));
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      reject(new ConnectRefused(err.code));
    });
    client.once('close', () => reject(new ConnectRefused(undefined)));
  });
}
