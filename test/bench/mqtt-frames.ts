/**
 * MQTT 3.1.1 frames for the load generator, cheap on purpose: PUBLISH frames are copied from a
 * pre-encoded template with the packet id and a sequence number patched in place, and incoming
 * frames are split by their fixed header only. A generator built on mqtt.js spends most of its
 * core on the client library (docs/PERFORMANCE-NOTES.md §3 A) and would measure itself, not the brokers.
 */
import { connectFrame, encode } from '../src/raw-mqtt.js';

/** What a device sends in its CONNECT: the same bytes go to every broker. */
export interface ConnectSpec {
  clientId: string;
  username: string;
  password: string;
}

/** Long enough that no broker expects a PINGREQ during a run; every connection is closed at the end. */
const KEEPALIVE_S = 600;

export function connectBytes(c: ConnectSpec): Buffer {
  return connectFrame({
    clientId: c.clientId,
    clean: true,
    username: c.username,
    password: Buffer.from(c.password, 'utf8'),
    keepalive: KEEPALIVE_S,
  });
}

export function subscribeBytes(filter: string, qos: 0 | 1): Buffer {
  return encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] });
}

const SOURCE_DIGITS = 4;
const SEQ_DIGITS = 8;
const ID_MARK = '#'.repeat(SOURCE_DIGITS + SEQ_DIGITS);
/** Where the request id starts in a payload: `{"id":"` opens both the request and the hub's reply. */
const ID_AT = '{"id":"'.length;

/**
 * The body of `thing.measurepoint.post` (docs/ENOS-PROTOCOL.md §4.1). Its request id is 12 digits, the
 * publisher's index then a sequence number, so that whoever receives a copy (the bare brokers'
 * subscriber) or the reply (the hub echoes the id) can tell which publisher it came from.
 */
export const MEASUREPOINT_BODY = `{"id":"${ID_MARK}","version":"1.0","method":"thing.measurepoint.post","params":{"measurepoints":{"temp":21.5}}}`;

/** A PUBLISH frame to copy: where its packet id and its sequence digits are. */
export interface PublishTemplate {
  frame: Buffer;
  /** Offset of the 2-byte packet id; -1 at QoS 0. */
  idAt: number;
  seqAt: number;
}

/** The PUBLISH frame of publisher number `source` (< 10,000), its index already in the request id. */
export function publishTemplate(topic: string, body: string, qos: 0 | 1, source: number): PublishTemplate {
  const frame = encode({
    cmd: 'publish',
    topic,
    payload: Buffer.from(body, 'utf8'),
    qos,
    messageId: qos > 0 ? 1 : undefined,
    retain: false,
    dup: false,
  });
  const markAt = frame.indexOf(ID_MARK);
  if (markAt < 0 || frame.lastIndexOf('{"id":"', markAt) !== markAt - ID_AT) throw new Error('the body must start with {"id":"<id mark>"');
  frame.write(String(source).padStart(SOURCE_DIGITS, '0'), markAt, 'latin1');
  // Fixed header, then the 2-byte topic length and the topic; the packet id follows at QoS 1.
  const topicAt = frame.indexOf(Buffer.from(topic, 'utf8'));
  return { frame, idAt: qos > 0 ? topicAt + Buffer.byteLength(topic) : -1, seqAt: markAt + SOURCE_DIGITS };
}

/** The publisher index at the start of a payload's request id, or -1 if there is none. */
function sourceOf(buf: Buffer, payloadAt: number, frameEnd: number): number {
  if (frameEnd - payloadAt < ID_AT + SOURCE_DIGITS || buf[payloadAt] !== 0x7b) return -1;
  let n = 0;
  for (let k = payloadAt + ID_AT; k < payloadAt + ID_AT + SOURCE_DIGITS; k++) {
    const digit = buf[k]! - 48;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

/** Writes `count` copies of the template into one buffer, packet ids and sequence numbers filled in. */
export function publishBatch(t: PublishTemplate, count: number, nextId: () => number, nextSeq: () => number): Buffer {
  const len = t.frame.length;
  const out = Buffer.allocUnsafe(len * count);
  for (let k = 0; k < count; k++) {
    const at = k * len;
    t.frame.copy(out, at);
    if (t.idAt >= 0) out.writeUInt16BE(nextId(), at + t.idAt);
    let seq = nextSeq();
    for (let d = SEQ_DIGITS - 1; d >= 0; d--) {
      out[at + t.seqAt + d] = 48 + (seq % 10);
      seq = Math.floor(seq / 10);
    }
  }
  return out;
}

export function pubackBytes(ids: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(4 * ids.length);
  ids.forEach((id, k) => {
    out[4 * k] = 0x40;
    out[4 * k + 1] = 2;
    out.writeUInt16BE(id, 4 * k + 2);
  });
  return out;
}

export interface FrameHandlers {
  connack?(returnCode: number): void;
  suback?(granted: number): void;
  puback?(messageId: number): void;
  /**
   * `source`: the publisher index in the payload's request id (-1: none); `matches`: the payload
   * contains the needle the reader was built with.
   */
  publish?(qos: number, messageId: number, source: number, matches: boolean): void;
}

/**
 * Splits a byte stream into MQTT frames and calls back per frame type. Only the frames the
 * benchmark expects are decoded (CONNACK, SUBACK, PUBACK, PUBLISH); others are skipped.
 */
export class FrameReader {
  private rest: Buffer | undefined;

  constructor(
    private readonly on: FrameHandlers,
    private readonly needle: Buffer,
  ) {}

  push(chunk: Buffer): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    const end = buf.length;
    let off = 0;
    for (;;) {
      if (off + 2 > end) break;
      // Remaining length: 1–4 bytes, 7 bits each, least significant first.
      let len = 0;
      let mul = 1;
      let i = off + 1;
      let complete = false;
      while (i < end && i < off + 5) {
        const b = buf[i++]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || i + len > end) break;
      const frameEnd = i + len;
      const type = buf[off]! >> 4;
      if (type === 3) {
        const qos = (buf[off]! >> 1) & 3;
        let p = i + 2 + buf.readUInt16BE(i);
        const id = qos > 0 ? buf.readUInt16BE(p) : 0;
        if (qos > 0) p += 2;
        // Found early in a right payload; a miss that lands in a later frame counts as a miss.
        const at = buf.indexOf(this.needle, p);
        this.on.publish?.(qos, id, sourceOf(buf, p, frameEnd), at >= 0 && at + this.needle.length <= frameEnd);
      } else if (type === 4) {
        this.on.puback?.(buf.readUInt16BE(i));
      } else if (type === 2) {
        this.on.connack?.(buf[i + 1]!);
      } else if (type === 9) {
        this.on.suback?.(buf[i + 2]!);
      }
      off = frameEnd;
    }
    if (off < end) this.rest = buf.subarray(off);
  }
}
