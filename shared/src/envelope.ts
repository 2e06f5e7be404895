import { randomInt } from 'node:crypto';
import { codes, EnosError } from './errors.js';

/**
 * The JSON envelope of every MQTT request and reply (docs/ENOS-PROTOCOL.md §3).
 *   request: {"id":"123","version":"1.0","method":"thing.measurepoint.post","params":{…}}
 *   reply:   {"id":"123","code":200,"message":"","data":{…}}   on <request topic>_reply
 */

/** SDKs send string ids; a command reply echoes the command's id with the same JSON type (§12). */
export type MessageId = string | number;

/** Java rejects `>= 512*1024` bytes client-side; the cloud answers 1008 above it (§3, §8). */
export const MAX_PAYLOAD_BYTES = 512 * 1024;

export interface RequestMessage<P = unknown> {
  id: MessageId;
  version: string;
  method: string;
  params: P;
}

export interface ReplyMessage<D = unknown> {
  /** Verbatim from the request, whatever its JSON type. */
  id: unknown;
  code: number;
  message?: string;
  data: D;
}

/**
 * A request as received. Only "is a JSON object" is guaranteed: every field is checked by the
 * handler that knows the method. Top-level siblings of `params` (e.g. `allowOfflineSubDevice`
 * on post/batch, §4.1) are kept.
 */
export interface InboundRequest {
  readonly id?: unknown;
  readonly version?: unknown;
  readonly method?: unknown;
  readonly params?: unknown;
  readonly [field: string]: unknown;
}

/** A device's reply to a command, as received (Node replies carry no `message`, §12). */
export interface InboundReply {
  readonly id?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly data?: unknown;
  readonly [field: string]: unknown;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: EnosError };

export interface ParseOptions {
  maxBytes?: number;
}

/** Checks, in the §3 order: size (1008), non-empty (1251), a JSON object (1220). */
export function parseRequest(payload: Uint8Array | string, options: ParseOptions = {}): ParseResult<InboundRequest> {
  return parseObject(payload, options);
}

/** Same checks as `parseRequest`, for a device's `_reply` to a command. */
export function parseReply(payload: Uint8Array | string, options: ParseOptions = {}): ParseResult<InboundReply> {
  return parseObject(payload, options);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseObject(payload: Uint8Array | string, { maxBytes = MAX_PAYLOAD_BYTES }: ParseOptions): ParseResult<Record<string, unknown>> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
  if (size > maxBytes) return fail(codes.msgTooLarge);
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : utf8.decode(payload);
  } catch {
    return fail(codes.payloadFormatError, 'Payload format error: not UTF-8');
  }
  if (text.trim() === '') return fail(codes.payloadEmpty);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(codes.payloadFormatError);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(codes.payloadFormatError, 'Payload format error: not a JSON object');
  }
  return { ok: true, value: value as Record<string, unknown> };
}

function fail(code: number, message?: string): { ok: false; error: EnosError } {
  return { ok: false, error: new EnosError(code, message) };
}

/** 1260 when the payload's `method` is not the one the topic requires (§3). */
export function checkMethod(request: InboundRequest, expectedMethod: string): EnosError | undefined {
  if (request.method === expectedMethod) return undefined;
  const got = typeof request.method === 'string' ? request.method : String(request.method);
  return new EnosError(codes.methodMismatch, `Methods not consistent: expected ${expectedMethod}, got ${got}`);
}

export interface BuildRequestOptions {
  /** Defaults to a fresh `newCommandId()`. */
  id?: MessageId;
  /** Node/C send "1.0", Java "1.1"; nobody validates it (§3). */
  version?: string;
}

export function buildRequest<P>(method: string, params: P, options: BuildRequestOptions = {}): RequestMessage<P> {
  return { id: options.id ?? newCommandId(), version: options.version ?? '1.0', method, params };
}

/**
 * Pass `request.id` untouched: Java correlates on `topic_id`, Node on `Map.get(id)`, and a Node
 * client waits forever for an id of the wrong JSON type (§0.6, §12).
 */
export function buildReply<D = Record<string, never>>(id: unknown, code: number, data?: D, message?: string): ReplyMessage<D> {
  const reply: ReplyMessage<D> = { id, code, data: data === undefined ? ({} as D) : data };
  if (message !== undefined) reply.message = message;
  return reply;
}

/** The reply for a refused request: its code and operator-facing message, empty data. */
export function errorReply(id: unknown, error: EnosError): ReplyMessage<Record<string, never>> {
  return { id, code: error.code, message: error.message, data: {} };
}

let sequence = 0;

/**
 * Ids for cloud→device commands. The Node SDK silently drops a command whose id equals one of
 * its own request ids ("1", "2", … never cleared, §12), so ids must never look like a small
 * counter: 13 digits of epoch ms + 3 of a per-process sequence + 3 random digits. 19 digits stay
 * below 2^63 for SDKs that treat the id as a Java long (§3 "Long").
 */
export function newCommandId(now: number = Date.now()): string {
  sequence = (sequence + 1) % 1000;
  const ms = String(Math.trunc(now)).padStart(13, '0');
  return ms + String(sequence).padStart(3, '0') + String(randomInt(0, 1000)).padStart(3, '0');
}
