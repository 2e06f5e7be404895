import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  cborCodec,
  compressionOf,
  decodeWire,
  encodeWire,
  EnosError,
  gunzip,
  gzip,
  isSupportedCompression,
  jsonCodec,
  MAX_PAYLOAD_BYTES,
  parseClientId,
} from '../src/index.js';

const sample = {
  id: '1',
  version: '1.0',
  method: 'thing.measurepoint.post',
  params: {
    measurepoints: { temp: 1.02, Power: { value: 1, quality: 9 }, branchCurr: ['1.02', '2.02'], name: 'Grüße 温度' },
    time: 1524448722000,
  },
};

const codeOfThrow = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof EnosError ? e.code : -1;
  }
  return undefined;
};

describe('jsonCodec', () => {
  it('round-trips a request', () => {
    expect(jsonCodec.decode(jsonCodec.encode(sample))).toEqual(sample);
    expect(jsonCodec.encode(sample).toString('utf8')).toBe(JSON.stringify(sample));
  });

  it('refuses malformed input with 1220', () => {
    expect(codeOfThrow(() => jsonCodec.decode(Buffer.from('{')))).toBe(1220);
  });
});

describe('cborCodec', () => {
  it('round-trips to plain objects', () => {
    const back = cborCodec.decode(cborCodec.encode(sample));
    expect(back).toEqual(sample);
    expect(Object.getPrototypeOf((back as { params: object }).params)).toBe(Object.prototype);
  });

  it('writes standard CBOR maps that any decoder reads (RFC 8949)', () => {
    // {"a":1} = map(1) text(1) "a" uint 1
    expect([...cborCodec.encode({ a: 1 })]).toEqual([0xa1, 0x61, 0x61, 0x01]);
    expect(cborCodec.decode(Uint8Array.from([0xa1, 0x61, 0x62, 0x82, 0x01, 0x02]))).toEqual({ b: [1, 2] });
  });

  it('refuses malformed input with 1220', () => {
    expect(codeOfThrow(() => cborCodec.decode(Uint8Array.from([0xbf, 0x61])))).toBe(1220);
  });
});

describe('GZIP (§2.4)', () => {
  it('round-trips and writes the gzip format', () => {
    const bytes = jsonCodec.encode(sample);
    const z = gzip(bytes);
    expect([z[0], z[1]]).toEqual([0x1f, 0x8b]);
    expect(gunzip(z).equals(bytes)).toBe(true);
  });

  it('inflates what another gzip writer produced (java.util.zip-compatible stream)', () => {
    const bytes = Buffer.from(JSON.stringify(sample));
    expect(gunzip(gzipSync(bytes, { level: 9 })).equals(bytes)).toBe(true);
  });

  it('inflates exactly up to the cap', () => {
    expect(gunzip(gzip(Buffer.alloc(MAX_PAYLOAD_BYTES))).byteLength).toBe(MAX_PAYLOAD_BYTES);
  });

  it('refuses a zip bomb with 1008 instead of inflating it', () => {
    const bomb = gzip(Buffer.alloc(20 * 1024 * 1024)); // 20 MB of zeros in ~20 KB
    expect(bomb.byteLength).toBeLessThan(64 * 1024);
    expect(codeOfThrow(() => gunzip(bomb))).toBe(1008);
    expect(() => gunzip(bomb)).toThrow(/exceeds 524288 bytes/);
    expect(codeOfThrow(() => gunzip(gzip(Buffer.alloc(101)), { maxBytes: 100 }))).toBe(1008);
  });

  it('refuses data that is not gzip with 1220', () => {
    expect(codeOfThrow(() => gunzip(Buffer.from('{"id":"1"}')))).toBe(1220);
    expect(codeOfThrow(() => gunzip(gzip(Buffer.from('hello')).subarray(0, 12)))).toBe(1220);
  });
});

describe('per-connection compression from the ClientId', () => {
  const info = (compress?: string) =>
    parseClientId(`dk{ip=10.0.0.5,version=enos-mqtt-2.3.0${compress ? `,compress=${compress}` : ''}}|securemode=2|`).extraInfo;

  it.each([
    [undefined, 'none'],
    ['DEFAULT', 'none'],
    ['GZIP', 'gzip'],
    ['gzip', 'gzip'],
    ['LZ4', 'lz4'],
    ['LZO', 'lzo'],
    ['ZSTD', null],
  ])('compress=%s → %s', (label, expected) => {
    expect(compressionOf(info(label))).toBe(expected);
  });

  it('supports none and gzip only', () => {
    expect(isSupportedCompression('none')).toBe(true);
    expect(isSupportedCompression('gzip')).toBe(true);
    expect(isSupportedCompression('lz4')).toBe(false);
    expect(isSupportedCompression('lzo')).toBe(false);
    expect(isSupportedCompression(null)).toBe(false);
  });

  it('encodes and decodes the wire bytes of a GZIP connection', () => {
    const bytes = jsonCodec.encode(sample);
    const wire = encodeWire(bytes, 'gzip');
    expect(wire.equals(bytes)).toBe(false);
    expect(decodeWire(wire, 'gzip').equals(bytes)).toBe(true);
    expect(codeOfThrow(() => decodeWire(gzip(Buffer.alloc(2000)), 'gzip', { maxBytes: 1000 }))).toBe(1008);
  });

  it('passes bytes through on a plain connection', () => {
    const bytes = jsonCodec.encode(sample);
    expect(encodeWire(bytes, 'none').equals(bytes)).toBe(true);
    expect(decodeWire(bytes, 'none').equals(bytes)).toBe(true);
  });
});
