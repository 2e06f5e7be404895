import { EnosError, cborCodec, codes } from '@edgehub/shared';
import type { RawCodec, RawReply, RawRequest } from './raw-codec.js';

/**
 * The built-in CBOR codec (RFC 8949, via cbor-x): an `up_raw` payload is a CBOR map with the JSON
 * envelope's fields, `{id?, method, params}`; replies are CBOR maps `{id?, code, data, message?}`.
 * Map keys are text; values keep their CBOR types (integers, floats, text, arrays, maps).
 */
export const cborRawCodec: RawCodec = {
  decodeRequest(bytes) {
    const v = decodeMap(bytes);
    const method = v['method'];
    if (typeof method !== 'string' || method === '') throw formatError('the CBOR map needs a text "method"');
    return { id: idOf(v['id']), method, params: v['params'] } satisfies RawRequest;
  },
  encodeReply(id, code, data, message) {
    return cborCodec.encode(message === undefined ? { id, code, data } : { id, code, data, message });
  },
  encodeCommand(command) {
    return cborCodec.encode({ id: command.id, version: '1.0', method: command.method, params: command.params });
  },
  decodeReply(bytes) {
    const v = decodeMap(bytes);
    const code = v['code'];
    if (typeof code !== 'number' || !Number.isInteger(code)) throw formatError('the CBOR reply needs an integer "code"');
    const reply: RawReply = { id: idOf(v['id']), code, data: v['data'] ?? null };
    if (typeof v['message'] === 'string') reply.message = v['message'];
    return reply;
  },
};

function decodeMap(bytes: Buffer): Record<string, unknown> {
  if (bytes.length === 0) throw new EnosError(codes.payloadEmpty, 'Payload is empty');
  const v = cborCodec.decode(bytes); // 1220 on malformed CBOR
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array || v instanceof Map)
    throw formatError('the payload must be a CBOR map');
  return v as Record<string, unknown>;
}

function idOf(v: unknown): string | number | undefined {
  return typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)) ? v : undefined;
}

function formatError(why: string): EnosError {
  return new EnosError(codes.payloadFormatError, `Payload format error: ${why}`);
}
