import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

/** Opens a raw TCP socket to a broker: for frames no well-behaved client library would send. */
export function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

export function encode(packet: Record<string, unknown>): Buffer {
  return mqttPacket.generate(packet as never);
}

/**
 * A CONNECT frame written byte by byte (MQTT 3.1.1 §3.1): mqtt.js and mqtt-packet both refuse
 * to produce some of the frames a broker must refuse, such as an empty ClientId without clean session.
 */
export function connectFrame(p: {
  clientId: string | Buffer;
  clean: boolean;
  username?: string;
  password?: Buffer;
  keepalive?: number;
}): Buffer {
  const str = (s: string | Buffer) => {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  let flags = p.clean ? 0x02 : 0;
  if (p.username !== undefined) flags |= 0x80;
  if (p.password !== undefined) flags |= 0x40;
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(p.keepalive ?? 60);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, flags]),
    keepalive,
    str(p.clientId),
    ...(p.username !== undefined ? [str(p.username)] : []),
    ...(p.password !== undefined ? [str(p.password)] : []),
  ]);
  const lenBytes: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    lenBytes.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x10, ...lenBytes]), body]);
}

/** Sends a CONNECT and resolves with the CONNACK return code (or undefined if the broker closed). */
export async function rawConnect(
  port: number,
  connectPacket: { clientId: string | Buffer; clean: boolean; username?: string; password?: Buffer },
): Promise<number | undefined> {
  const s = await rawSocket(port);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  return new Promise((resolve) => {
    parser.on('packet', (p: { cmd: string; returnCode?: number }) => {
      if (p.cmd === 'connack') {
        resolve(p.returnCode);
        s.destroy();
      }
    });
    s.on('data', (d) => parser.parse(d));
    s.on('close', () => resolve(undefined));
    s.write(connectFrame(connectPacket));
  });
}

/** A PUBLISH frame whose topic is given as bytes: invalid UTF-8 cannot be written from a JS string. */
export function publishFrame(topic: Buffer, payload: Buffer | string, qos: 0 | 1 = 0, messageId = 1): Buffer {
  const topicLength = Buffer.alloc(2);
  topicLength.writeUInt16BE(topic.length);
  const id = Buffer.alloc(qos > 0 ? 2 : 0);
  if (qos > 0) id.writeUInt16BE(messageId);
  const body = Buffer.concat([topicLength, topic, id, Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1)]), remainingLength(body.length), body]);
}

function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

export interface RawPacket {
  cmd: string;
  [field: string]: unknown;
}

/**
 * A raw MQTT connection that reads every packet the broker sends and acknowledges nothing by
 * itself: for sessions left with unacknowledged messages and for frames a client library refuses.
 */
export class RawSession {
  private readonly packets: RawPacket[] = [];
  private readonly waiters: { match: (p: RawPacket) => boolean; resolve: (p: RawPacket) => void }[] = [];
  /** Resolves when the broker (or the test) closed the socket. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => {
      const p = packet as unknown as RawPacket;
      const i = this.waiters.findIndex((w) => w.match(p));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(p);
      else this.packets.push(p);
    });
    socket.on('data', (d) => parser.parse(d));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(port: number): Promise<RawSession> {
    return new RawSession(await rawSocket(port));
  }

  write(frame: Buffer): void {
    this.socket.write(frame);
  }

  /** The next packet matching (already received ones count); rejects if the socket closes first. */
  next(match: (p: RawPacket) => boolean, timeoutMs = 5000): Promise<RawPacket> {
    const i = this.packets.findIndex(match);
    if (i >= 0) return Promise.resolve(this.packets.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (p: RawPacket) => {
          clearTimeout(timer);
          resolve(p);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no matching packet within ${timeoutMs} ms`));
      }, timeoutMs);
      void this.closed.then(() => {
        if (!this.waiters.includes(w)) return;
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(timer);
        reject(new Error('connection closed'));
      });
      this.waiters.push(w);
    });
  }

  /** Every packet received and not yet taken by next(). */
  received(): RawPacket[] {
    return [...this.packets];
  }

  end(): void {
    this.socket.destroy();
  }
}
