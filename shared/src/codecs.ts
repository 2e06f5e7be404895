import { gunzipSync, gzipSync } from 'node:zlib';
import { Encoder } from 'cbor-x';
import { codes, EnosError } from './errors.js';
import { MAX_PAYLOAD_BYTES } from './envelope.js';

/**
 * Payload codecs: JSON (the device wire), CBOR (compact internal transport), and the GZIP layer
 * the Java SDK adds per connection when its ClientId says `compress=GZIP` (docs/ENOS-PROTOCOL.md §2.4).
 */

export interface PayloadCodec {
  encode(value: unknown): Buffer;
  /** Throws EnosError 1220 on malformed input. */
  decode(bytes: Uint8Array): unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const jsonCodec: PayloadCodec = {
  encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
  decode: (bytes) => {
    try {
      return JSON.parse(utf8.decode(bytes)) as unknown;
    } catch {
      throw new EnosError(codes.payloadFormatError, 'Payload format error: invalid JSON');
    }
  },
};

// No record extension: plain CBOR maps (shortest length form) that any decoder reads,
// decoded back to plain objects.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

export const cborCodec: PayloadCodec = {
  encode: (value) => cbor.encode(value),
  decode: (bytes) => {
    try {
      return cbor.decode(bytes) as unknown;
    } catch {
      throw new EnosError(codes.payloadFormatError, 'Payload format error: invalid CBOR');
    }
  },
};

/** Java `CompressType` (§2.4). LZ4/LZO are Java block streams, not the standard frame formats. */
export type Compression = 'none' | 'gzip' | 'lz4' | 'lzo';
export type SupportedCompression = 'none' | 'gzip';

/**
 * The compression a connection asked for in its ClientId `{…,compress=…}` block
 * (`extraInfo` of parseClientId). Absent or DEFAULT = none; null for a label we do not know.
 */
export function compressionOf(extraInfo: Readonly<Record<string, string>>): Compression | null {
  const label = (extraInfo['compress'] ?? '').trim().toLowerCase();
  switch (label) {
    case '':
    case 'default':
      return 'none';
    case 'gzip':
    case 'lz4':
    case 'lzo':
      return label;
    default:
      return null;
  }
}

/** The hub implements GZIP only; refuse LZ4/LZO connections rather than garble their payloads. */
export function isSupportedCompression(c: Compression | null): c is SupportedCompression {
  return c === 'none' || c === 'gzip';
}

export function gzip(bytes: Uint8Array): Buffer {
  return gzipSync(bytes);
}

export interface InflateOptions {
  /** Cap on the inflated size; defaults to the 512 KB message limit. */
  maxBytes?: number;
}

/**
 * Inflates a GZIP payload, stopping as soon as the output passes `maxBytes` so a small zip bomb
 * cannot allocate its full expansion. Over the cap → EnosError 1008; not GZIP → 1220.
 * Synchronous on purpose: input and output are both bounded by the message limit.
 */
export function gunzip(bytes: Uint8Array, { maxBytes = MAX_PAYLOAD_BYTES }: InflateOptions = {}): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new EnosError(codes.msgTooLarge, `Msg size is too large: inflated payload exceeds ${maxBytes} bytes`);
    }
    throw new EnosError(codes.payloadFormatError, 'Payload format error: invalid GZIP data');
  }
}

/** Outbound bytes for a connection: with compress=GZIP every payload is gzipped, replies included (§2.4). */
export function encodeWire(bytes: Uint8Array, compression: SupportedCompression): Buffer {
  return compression === 'gzip' ? gzip(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Inbound bytes from a connection, inflated when it uses GZIP (capped, see `gunzip`). */
export function decodeWire(bytes: Uint8Array, compression: SupportedCompression, options: InflateOptions = {}): Buffer {
  if (compression === 'gzip') return gunzip(bytes, options);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
