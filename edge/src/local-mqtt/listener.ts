import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { keepClientPublishesLocal, parseConnect, topics, verifyConnectPassword } from '@edgehub/shared';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import type { Reading } from '../buffer/index.js';
import type { SubDeviceCredentials } from '../registration/sub-devices.js';

export interface LocalMqttDeps {
  /** Credentials of the sub-devices allowed to connect here (their own EnOS triple). */
  credentials(deviceKey: string): SubDeviceCredentials | undefined;
  /** A reading from a local device, forwarded like a Modbus one. */
  forward(reading: Reading): void;
  log: Logger;
}

interface Pending {
  resolve: (reply: { code: number; data: unknown; message?: string }) => void;
  timer: NodeJS.Timeout;
}

/**
 * The edge's local MQTT listener for sub-devices that speak MQTT themselves: they connect with
 * their own signed EnOS CONNECT (docs/ENOS-PROTOCOL.md §2.2), their measurepoint posts go up through
 * the edge's uplink exactly like Modbus readings (buffered through outages), and commands for
 * them are relayed down and their replies back up.
 */
export class LocalMqttListener {
  private readonly sessions = new Map<string, Client>();
  private readonly owner = new WeakMap<Client, SubDeviceCredentials>();
  private readonly pending = new Map<string, Pending>();
  private server?: Server;
  private aedes?: Aedes;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly deps: LocalMqttDeps) {}

  async listen(host: string, port: number): Promise<AddressInfo> {
    const aedes = await Aedes.createBroker({
      maxClientsIdLength: 1024,
      authenticate: (client, username, password, done) => {
        const attempt = parseConnect(client.id, username ?? '');
        const creds = attempt && this.deps.credentials(attempt.deviceKey);
        if (!attempt?.algo || !creds || creds.productKey !== attempt.productKey || !password) {
          return done(Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }), false);
        }
        if (!verifyConnectPassword(attempt, password.toString('utf8'), creds.deviceSecret, attempt.algo))
          return done(Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }), false);
        this.owner.set(client, creds);
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        const creds = client ? this.owner.get(client) : undefined;
        if (client && creds) this.onPublish(client, creds, packet.topic, Buffer.from(packet.payload));
        done(null);
      },
      // Local devices need no subscriptions: replies and commands are pushed to them.
      authorizeSubscribe: (client, sub, done) => {
        const creds = this.owner.get(client);
        const own = creds && topics.ownerOf(sub.topic);
        done(null, own && own.pk === creds.productKey && own.dk === creds.deviceKey ? sub : null);
      },
    });
    // Nothing a local device publishes fans out to another local client.
    keepClientPublishesLocal(aedes);
    aedes.on('connackSent', (packet, client) => {
      const creds = this.owner.get(client);
      if (packet.returnCode !== 0 || !creds) return;
      this.sessions.get(creds.deviceKey)?.close();
      this.sessions.set(creds.deviceKey, client);
    });
    aedes.on('clientDisconnect', (client) => {
      const creds = this.owner.get(client);
      if (creds && this.sessions.get(creds.deviceKey) === client) this.sessions.delete(creds.deviceKey);
    });
    this.aedes = aedes;
    this.server = createServer((socket) => {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    return this.server.address() as AddressInfo;
  }

  isConnected(deviceKey: string): boolean {
    return this.sessions.has(deviceKey);
  }

  /** Relays a hub command to a local device and resolves with its reply (or a timeout). */
  relay(
    deviceKey: string,
    topic: string,
    message: { id?: unknown },
    timeoutMs: number,
  ): Promise<{ code: number; data: unknown; message?: string }> {
    const client = this.sessions.get(deviceKey);
    if (!client) return Promise.resolve({ code: 2002, data: {}, message: `${deviceKey} is not connected to the edge` });
    const key = `${topics.reply(topic)}#${String(message.id)}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve({ code: 2003, data: {}, message: `${deviceKey} did not answer within ${timeoutMs} ms` });
      }, timeoutMs);
      this.pending.set(key, { resolve, timer });
      client.publish(
        { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(message)), qos: 1, retain: false, dup: false },
        () => undefined,
      );
    });
  }

  private onPublish(client: Client, creds: SubDeviceCredentials, topic: string, payload: Buffer): void {
    const t = topics.parse(topic);
    let msg:
      | {
          id?: unknown;
          method?: string;
          params?: { measurepoints?: Record<string, unknown>; time?: number };
          code?: unknown;
          data?: unknown;
          message?: unknown;
        }
      | undefined;
    try {
      msg = JSON.parse(payload.toString('utf8')) as typeof msg;
    } catch {
      msg = undefined;
    }
    const reply = (code: number, message?: string) => {
      if (msg?.id === undefined || topic.endsWith('_reply')) return;
      client.publish(
        {
          cmd: 'publish',
          topic: topics.reply(topic),
          payload: Buffer.from(JSON.stringify({ id: msg.id, code, data: {}, ...(message ? { message } : {}) })),
          qos: 0,
          retain: false,
          dup: false,
        },
        () => undefined,
      );
    };
    if (!t || t.pk !== creds.productKey || t.dk !== creds.deviceKey) return reply(1009, `no permission to publish to ${topic}`);
    if (t.isReply) {
      const p = this.pending.get(`${topic}#${String(msg?.id)}`);
      if (p) {
        clearTimeout(p.timer);
        this.pending.delete(`${topic}#${String(msg?.id)}`);
        p.resolve({
          code: Number(msg?.code ?? 200),
          data: msg?.data ?? {},
          ...(typeof msg?.message === 'string' ? { message: msg.message } : {}),
        });
      }
      return;
    }
    if (!msg) return reply(1220, 'payload is not JSON');
    if (t.kind !== 'measurepointPost' && t.kind !== 'measurepointResume') return reply(1009, `${t.kind} is not forwarded by the edge`);
    const points = msg.params?.measurepoints;
    if (!points || typeof points !== 'object' || Array.isArray(points)) return reply(1220, 'params.measurepoints must be an object');
    const time = typeof msg.params?.time === 'number' ? msg.params.time : Date.now();
    this.deps.forward({
      productKey: creds.productKey,
      deviceKey: creds.deviceKey,
      time,
      measurepoints: points as Reading['measurepoints'],
    });
    // Accepted by the edge: from here on the edge's store-and-forward carries it to the hub.
    reply(200);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.aedes ? this.aedes.close(() => resolve()) : resolve()));
  }
}
