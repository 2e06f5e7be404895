import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';

/** Why the guard ended a connection (a label of edgehub_mqtt_connections_closed_total). */
export type FrameViolation = 'frame_too_large' | 'invalid_string' | 'qos2_publish' | 'malformed';

export interface FrameLimits {
  /** Bytes a connection may send before it is authenticated: its CONNECT and anything pipelined behind it. */
  maxConnectBytes: number;
  /** The largest frame (fixed header included) of an authenticated connection. */
  maxFrameBytes: number;
}

const CONNECT = 1;
const PUBLISH = 3;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;

/**
 * Reads the MQTT frame structure of one connection's byte stream before aedes' parser does
 * (docs/SECURITY.md, "Before authentication"):
 * - a frame is refused from its fixed header, before its body is read or buffered, when it is
 *   larger than allowed: `maxConnectBytes` in total until the connection is authenticated,
 *   `maxFrameBytes` per frame afterwards;
 * - a ClientId, username, will topic, PUBLISH topic or topic filter that is not well-formed UTF-8
 *   or contains U+0000 ends the connection (MQTT 3.1.1 §1.5.3);
 * - a PUBLISH at QoS 2 ends the connection; a SUBSCRIBE asking QoS 2 is rewritten in place to ask
 *   QoS 1, so the SUBACK grants 1 (docs/PROTOCOL.md §5).
 * The guard never copies a body it does not look into: PUBLISH payloads pass untouched.
 */
export class FrameInspector {
  /** Bytes of the current fixed header seen so far (0: between frames). */
  private headerLength = 0;
  private firstByte = 0;
  private remainingLength = 0;
  private multiplier = 1;
  /** Body bytes of the current frame not seen yet; -1 while reading a fixed header. */
  private bodyLeft = -1;
  private preAuthBytes = 0;

  /** CONNECT and PUBLISH: the body bytes kept to check (all of a CONNECT, a PUBLISH's topic). */
  private captured: Buffer | undefined;
  private capturedLength = 0;
  private captureTarget = 0;
  /** A PUBLISH whose topic is not checked yet: looked at in place when the chunk holds all of it. */
  private topicUnchecked = false;
  /** The last PUBLISH topic found well-formed (a copy): a device posts to the same few topics. */
  private lastTopic: Buffer | undefined;

  /** SUBSCRIBE and UNSUBSCRIBE, read byte by byte: which field the next byte belongs to. */
  private filterPhase: 'packetId' | 'lengthHigh' | 'lengthLow' | 'filter' | 'qos' = 'packetId';
  private filterBytesLeft = 0;
  private filter: Buffer | undefined;
  private filterLength = 0;

  constructor(
    private readonly limits: FrameLimits,
    private readonly authenticated: () => boolean,
  ) {}

  /**
   * Looks at the next chunk the parser is about to get. Returns a violation when the connection
   * must end; the chunk must then not reach the parser (the offending frame is never complete there).
   */
  inspect(chunk: Buffer): FrameViolation | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft < 0) {
        const b = chunk[i++]!;
        if (this.headerLength === 0) {
          this.firstByte = b;
          this.headerLength = 1;
          this.remainingLength = 0;
          this.multiplier = 1;
          continue;
        }
        this.remainingLength += (b & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.headerLength++;
        if (b & 0x80) {
          // The remaining length has at most four bytes (MQTT 3.1.1 §2.2.3).
          if (this.headerLength > 4) return 'malformed';
          continue;
        }
        const refused = this.startFrame();
        if (refused) return refused;
        if (this.bodyLeft === 0) this.endFrame();
        continue;
      }
      const take = Math.min(this.bodyLeft, chunk.length - i);
      const type = this.firstByte >> 4;
      if (type === SUBSCRIBE || type === UNSUBSCRIBE) {
        for (let k = i; k < i + take; k++) {
          const refused = this.filterByte(chunk, k, type === SUBSCRIBE);
          if (refused) return refused;
        }
      } else {
        if (this.topicUnchecked) {
          this.topicUnchecked = false;
          const inPlace = this.topicInPlace(chunk, i, take);
          if (inPlace === 'invalid') return 'invalid_string';
          // Split over chunks: the topic's bytes are gathered as they come.
          if (inPlace === 'split') this.capture(Math.min(2, this.remainingLength));
        }
        let at = i;
        while (this.captured && this.capturedLength < this.captureTarget && at < i + take) {
          const n = Math.min(i + take - at, this.captureTarget - this.capturedLength);
          chunk.copy(this.captured, this.capturedLength, at, at + n);
          this.capturedLength += n;
          at += n;
          const refused = this.checkCaptured();
          if (refused) return refused;
        }
      }
      i += take;
      this.bodyLeft -= take;
      if (this.bodyLeft === 0) {
        const refused = this.finishFrame();
        if (refused) return refused;
      }
    }
    return undefined;
  }

  private startFrame(): FrameViolation | undefined {
    const size = this.headerLength + this.remainingLength;
    if (!this.authenticated()) {
      this.preAuthBytes += size;
      if (this.preAuthBytes > this.limits.maxConnectBytes) return 'frame_too_large';
    } else if (size > this.limits.maxFrameBytes) {
      return 'frame_too_large';
    }
    this.bodyLeft = this.remainingLength;
    const type = this.firstByte >> 4;
    if (type === PUBLISH && ((this.firstByte >> 1) & 3) === 2) return 'qos2_publish';
    if (type === CONNECT) this.capture(this.remainingLength);
    else if (type === PUBLISH) this.topicUnchecked = true;
    else if (type === SUBSCRIBE || type === UNSUBSCRIBE) {
      this.filterPhase = 'packetId';
      this.filterBytesLeft = 2;
    }
    return undefined;
  }

  private capture(bytes: number): void {
    this.captured = Buffer.allocUnsafe(bytes);
    this.capturedLength = 0;
    this.captureTarget = bytes;
  }

  /**
   * A PUBLISH topic wholly inside this chunk (the usual case) is checked where it lies, without
   * copying it; one equal to the last topic found well-formed is not checked again (docs/BENCHMARKS.md,
   * "MQTT fan-in: the third pass").
   */
  private topicInPlace(chunk: Buffer, at: number, take: number): 'ok' | 'invalid' | 'split' {
    if (take < 2) return 'split';
    const topicLength = chunk.readUInt16BE(at);
    // A topic longer than the frame is malformed; the parser reports that itself.
    if (topicLength === 0 || 2 + topicLength > this.remainingLength) return 'ok';
    if (2 + topicLength > take) return 'split';
    const start = at + 2;
    const end = start + topicLength;
    const last = this.lastTopic;
    if (last && last.length === topicLength && chunk.compare(last, 0, topicLength, start, end) === 0) return 'ok';
    const topic = chunk.subarray(start, end);
    if (!wellFormed(topic)) return 'invalid';
    this.lastTopic = Buffer.from(topic);
    return 'ok';
  }

  /** A PUBLISH's first two body bytes give its topic's length: keep reading up to the topic's end. */
  private checkCaptured(): FrameViolation | undefined {
    if (this.firstByte >> 4 !== PUBLISH || this.capturedLength !== this.captureTarget) return undefined;
    const captured = this.captured!;
    if (this.captureTarget === 2) {
      const topicLength = captured.readUInt16BE(0);
      // A topic longer than the frame is malformed; the parser reports that itself.
      if (topicLength === 0 || 2 + topicLength > this.remainingLength) return undefined;
      const grown = Buffer.allocUnsafe(2 + topicLength);
      captured.copy(grown, 0, 0, 2);
      this.captured = grown;
      this.captureTarget = 2 + topicLength;
      return undefined;
    }
    return wellFormed(captured.subarray(2)) ? undefined : 'invalid_string';
  }

  private finishFrame(): FrameViolation | undefined {
    const type = this.firstByte >> 4;
    const captured = this.captured;
    let refused: FrameViolation | undefined;
    if (type === CONNECT && captured) refused = checkConnect(captured);
    this.endFrame();
    return refused;
  }

  private endFrame(): void {
    this.headerLength = 0;
    this.bodyLeft = -1;
    this.topicUnchecked = false;
    this.captured = undefined;
    this.filter = undefined;
  }

  /** One byte of a (UN)SUBSCRIBE body: packet id, then (length, filter[, requested QoS]) entries. */
  private filterByte(chunk: Buffer, k: number, subscribe: boolean): FrameViolation | undefined {
    const b = chunk[k]!;
    switch (this.filterPhase) {
      case 'packetId':
        if (--this.filterBytesLeft === 0) this.filterPhase = 'lengthHigh';
        return undefined;
      case 'lengthHigh':
        this.filterLength = b << 8;
        this.filterPhase = 'lengthLow';
        return undefined;
      case 'lengthLow':
        this.filterLength |= b;
        this.filter = Buffer.allocUnsafe(this.filterLength);
        this.filterBytesLeft = this.filterLength;
        this.filterPhase = this.filterLength > 0 ? 'filter' : subscribe ? 'qos' : 'lengthHigh';
        return undefined;
      case 'filter':
        this.filter![this.filterLength - this.filterBytesLeft] = b;
        if (--this.filterBytesLeft > 0) return undefined;
        this.filterPhase = subscribe ? 'qos' : 'lengthHigh';
        return wellFormed(this.filter!) ? undefined : 'invalid_string';
      case 'qos':
        // The hub grants at most QoS 1: ask for that before aedes reads the request.
        if ((b & 3) === 2) chunk[k] = (b & ~3) | 1;
        this.filterPhase = 'lengthHigh';
        return undefined;
    }
  }
}

/** MQTT 3.1.1 §1.5.3: well-formed UTF-8 (no surrogates, no overlong forms) without U+0000. */
export function wellFormed(bytes: Buffer): boolean {
  return bytes.indexOf(0) < 0 && isUtf8(bytes);
}

/** The strings of a CONNECT body (§3.1): ClientId, will topic, username. The password is binary. */
function checkConnect(body: Buffer): FrameViolation | undefined {
  let at = 0;
  const field = (): Buffer | undefined => {
    if (at + 2 > body.length) return undefined;
    const n = body.readUInt16BE(at);
    if (at + 2 + n > body.length) return undefined;
    const out = body.subarray(at + 2, at + 2 + n);
    at += 2 + n;
    return out;
  };
  const protocol = field();
  if (!protocol || at + 4 > body.length) return undefined; // malformed: the parser says so
  const flags = body[at + 1]!;
  at += 4; // level, flags, keepalive
  const strings: (Buffer | undefined)[] = [field()];
  if (flags & 0x04) {
    strings.push(field()); // will topic
    field(); // will message: binary
  }
  if (flags & 0x80) strings.push(field());
  for (const s of strings) if (s && !wellFormed(s)) return 'invalid_string';
  return undefined;
}

/**
 * Puts the inspector in front of aedes' parser: aedes takes a connection's bytes with
 * `conn.read()` and nothing else, so that is where the guard looks. On a violation the chunk is
 * withheld, the connection destroyed and `onViolation` told why.
 */
export function guardFrames(conn: Readable, inspector: FrameInspector, onViolation: (v: FrameViolation) => void): void {
  const read = conn.read.bind(conn);
  let refused = false;
  conn.read = (size?: number) => {
    const chunk: unknown = read(size);
    if (refused || !Buffer.isBuffer(chunk)) return refused ? null : chunk;
    const violation = inspector.inspect(chunk);
    if (!violation) return chunk;
    refused = true;
    onViolation(violation);
    conn.destroy();
    return null;
  };
}
