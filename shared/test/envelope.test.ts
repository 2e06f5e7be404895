import { describe, expect, it } from 'vitest';
import {
  buildReply,
  buildRequest,
  checkMethod,
  errorReply,
  EnosError,
  MAX_PAYLOAD_BYTES,
  newCommandId,
  parseReply,
  parseRequest,
} from '../src/index.js';
import type { InboundRequest, ParseResult } from '../src/index.js';

const codeOf = (r: ParseResult<unknown>) => (r.ok ? 200 : r.error.code);

const request = (r: ParseResult<InboundRequest>): InboundRequest => {
  if (!r.ok) throw new Error(`expected a request, got ${r.error.code}`);
  return r.value;
};

describe('parseRequest (§3)', () => {
  it('reads a request and keeps top-level flags next to params', () => {
    const payload = Buffer.from(
      JSON.stringify({ id: '12', version: '1.1', method: 'thing.measurepoint.post.batch', params: [], allowOfflineSubDevice: true }),
    );
    const r = request(parseRequest(payload));
    expect(r.id).toBe('12');
    expect(r.method).toBe('thing.measurepoint.post.batch');
    expect(r['allowOfflineSubDevice']).toBe(true);
  });

  it('accepts a string payload and a leading BOM', () => {
    expect(codeOf(parseRequest('{"id":"1"}'))).toBe(200);
    expect(codeOf(parseRequest(Buffer.from('\uFEFF{"id":"1"}', 'utf8')))).toBe(200);
  });

  it('refuses an empty payload with 1251', () => {
    expect(codeOf(parseRequest(Buffer.alloc(0)))).toBe(1251);
    expect(codeOf(parseRequest(''))).toBe(1251);
    expect(codeOf(parseRequest(' \n\t '))).toBe(1251);
  });

  it.each(['{', '{"id":', 'not json', "{'id':'1'}", '[]', '[{"id":"1"}]', '"text"', '42', 'null', 'true'])('refuses %j with 1220', (p) => {
    expect(codeOf(parseRequest(Buffer.from(p)))).toBe(1220);
  });

  it('refuses invalid UTF-8 with 1220', () => {
    expect(codeOf(parseRequest(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])))).toBe(1220);
  });

  it('accepts exactly 512 KB and refuses one byte more with 1008', () => {
    const body = (n: number) => {
      const prefix = '{"id":"1","pad":"';
      const suffix = '"}';
      return Buffer.from(prefix + 'x'.repeat(n - prefix.length - suffix.length) + suffix);
    };
    expect(body(MAX_PAYLOAD_BYTES).byteLength).toBe(512 * 1024);
    expect(codeOf(parseRequest(body(MAX_PAYLOAD_BYTES)))).toBe(200);
    expect(codeOf(parseRequest(body(MAX_PAYLOAD_BYTES + 1)))).toBe(1008);
  });

  it('checks size before emptiness before JSON', () => {
    // Oversized and blank: size wins.
    expect(codeOf(parseRequest(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20)))).toBe(1008);
    // Oversized and not JSON: size wins.
    expect(codeOf(parseRequest(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x78)))).toBe(1008);
    // Blank (not JSON either): emptiness wins.
    expect(codeOf(parseRequest('   '))).toBe(1251);
  });

  it('measures the size in bytes, not characters', () => {
    const s = `{"v":"${'é'.repeat(60)}"}`; // 60 chars of 2 bytes each
    expect(codeOf(parseRequest(s, { maxBytes: 100 }))).toBe(1008);
    expect(codeOf(parseRequest(s, { maxBytes: 200 }))).toBe(200);
  });

  it('returns an EnosError carrying the message of the code', () => {
    const r = parseRequest('');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(EnosError);
      expect(r.error.message).toBe('Payload is empty');
    }
  });
});

describe('parseReply', () => {
  it('reads a Node SDK command reply (no message, §12)', () => {
    const r = parseReply(Buffer.from('{"id":"1700000000000123456","code":200,"data":{"out":1}}'));
    expect(r.ok && r.value).toEqual({ id: '1700000000000123456', code: 200, data: { out: 1 } });
  });

  it('applies the same checks', () => {
    expect(codeOf(parseReply(''))).toBe(1251);
    expect(codeOf(parseReply('[]'))).toBe(1220);
    expect(codeOf(parseReply('{}', { maxBytes: 1 }))).toBe(1008);
  });
});

describe('checkMethod', () => {
  const req = request(parseRequest('{"id":"1","method":"thing.measurepoint.post","params":{}}'));

  it('passes the method the topic requires', () => {
    expect(checkMethod(req, 'thing.measurepoint.post')).toBeUndefined();
  });

  it('answers 1260 for another method, another case or none', () => {
    expect(checkMethod(req, 'thing.measurepoint.post.batch')?.code).toBe(1260);
    expect(checkMethod(req, 'Thing.Measurepoint.Post')?.code).toBe(1260);
    expect(checkMethod(request(parseRequest('{"id":"1"}')), 'thing.measurepoint.post')?.code).toBe(1260);
    expect(checkMethod(request(parseRequest('{"id":"1","method":5}')), '5')?.code).toBe(1260);
  });
});

describe('replies echo the id with its JSON type (§0.6, §12)', () => {
  it.each([
    ['string', '{"id":"1","method":"m"}', '1'],
    ['number', '{"id":7,"method":"m"}', 7],
    ['large numeric string', '{"id":"1700000000000123456","method":"m"}', '1700000000000123456'],
  ])('%s id', (_name, payload, id) => {
    const req = request(parseRequest(payload));
    const wire = JSON.stringify(buildReply(req.id, 200, {}));
    const back = JSON.parse(wire) as { id: unknown };
    expect(back.id).toStrictEqual(id);
    expect(typeof back.id).toBe(typeof id);
  });

  it('defaults data to {} and includes message only when given', () => {
    expect(buildReply('1', 200)).toEqual({ id: '1', code: 200, data: {} });
    expect('message' in buildReply('1', 200)).toBe(false);
    expect(buildReply('1', 723, { a: 1 }, 'Device is disable')).toEqual({
      id: '1',
      code: 723,
      message: 'Device is disable',
      data: { a: 1 },
    });
  });

  it('builds the reply of a refused request from its EnosError', () => {
    expect(errorReply(9, new EnosError(1260))).toEqual({ id: 9, code: 1260, message: 'Methods not consistent', data: {} });
  });
});

describe('buildRequest', () => {
  it('builds the §3 request with version 1.0 and a fresh command id', () => {
    const r = buildRequest('thing.service.sample.echo', { in: 1 });
    expect(r).toMatchObject({ version: '1.0', method: 'thing.service.sample.echo', params: { in: 1 } });
    expect(typeof r.id).toBe('string');
    expect(r.id).toMatch(/^\d{19}$/);
  });

  it('takes an explicit id and version', () => {
    expect(buildRequest('m', [], { id: '5', version: '1.1' })).toEqual({ id: '5', version: '1.1', method: 'm', params: [] });
  });
});

describe('newCommandId (§12)', () => {
  it('starts with the epoch milliseconds and is 19 digits', () => {
    const now = 1_700_000_000_123;
    const id = newCommandId(now);
    expect(id).toMatch(/^\d{19}$/);
    expect(id.startsWith(String(now))).toBe(true);
  });

  it('never looks like a small SDK counter and fits a Java long', () => {
    for (let i = 0; i < 1000; i++) {
      const id = newCommandId();
      expect(BigInt(id)).toBeGreaterThan(10n ** 12n);
      expect(BigInt(id)).toBeLessThan(2n ** 63n);
    }
  });

  it('does not repeat within the same millisecond', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 1000 }, () => newCommandId(now)));
    expect(ids.size).toBe(1000);
  });
});
