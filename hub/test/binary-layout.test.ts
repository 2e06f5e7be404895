import { describe, expect, it } from 'vitest';
import { EnosError } from '@edgehub/shared';
import { binaryLayoutCodec, layoutProblem, type BinaryLayout } from '../src/codecs/binary-layout.js';
import { cborRawCodec } from '../src/codecs/cbor-codec.js';

const codeOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof EnosError ? e.code : -1;
  }
  return undefined;
};

/** The declarative binary-layout codec (docs/PROTOCOL.md §7.1): reading frames as a layout describes them. */
describe('binary layout codec', () => {
  const layout: BinaryLayout = {
    endian: 'little',
    frames: [
      {
        method: 'thing.measurepoint.post',
        length: 15,
        fields: [
          { name: 'u8', offset: 0, type: 'uint8' },
          { name: 'i16', offset: 1, type: 'int16', scale: 0.01 },
          { name: 'u32be', offset: 3, type: 'uint32', endian: 'big' },
          { name: 'f32', offset: 7, type: 'float32' },
          { name: 'i32', offset: 11, type: 'int32', scale: 10 },
        ],
      },
    ],
  };

  it('reads each type with its byte order and scale', () => {
    const b = Buffer.alloc(15);
    b.writeUInt8(200, 0);
    b.writeInt16LE(-1234, 1);
    b.writeUInt32BE(0xdeadbeef, 3);
    b.writeFloatLE(1.5, 7);
    b.writeInt32LE(-7, 11);
    expect(binaryLayoutCodec(layout).decodeRequest(b)).toEqual({
      id: undefined,
      method: 'thing.measurepoint.post',
      params: { measurepoints: { u8: 200, i16: -12.34, u32be: 0xdeadbeef, f32: 1.5, i32: -70 } },
    });
  });

  it('refuses frames that are short, long or empty with 1220 / 1251', () => {
    const codec = binaryLayoutCodec(layout);
    expect(codeOf(() => codec.decodeRequest(Buffer.alloc(14)))).toBe(1220);
    expect(codeOf(() => codec.decodeRequest(Buffer.alloc(16)))).toBe(1220);
    expect(codeOf(() => codec.decodeRequest(Buffer.alloc(0)))).toBe(1251);
  });

  it('finds layouts that cannot work before they are used', () => {
    const frame = layout.frames[0]!;
    expect(layoutProblem(layout)).toBeUndefined();
    expect(layoutProblem({ frames: [{ ...frame, length: 14 }] })).toMatch(/does not fit/);
    expect(layoutProblem({ frames: [{ ...frame, fields: [...frame.fields, { name: 'x', offset: 2, type: 'uint8' }] }] })).toMatch(
      /overlaps/,
    );
    const small = { method: 'thing.measurepoint.post', length: 2, fields: [{ name: 'a', offset: 1, type: 'uint8' as const }] };
    expect(
      layoutProblem({
        frames: [
          { ...small, type: 1 },
          { ...small, type: 2 },
        ],
      }),
    ).toBeUndefined();
    expect(
      layoutProblem({
        frames: [
          { ...small, type: 1 },
          { ...small, type: 1 },
        ],
      }),
    ).toMatch(/used twice/);
    expect(
      layoutProblem({
        frames: [
          { ...small, type: 1 },
          { ...small, type: 2, fields: [{ name: 'a', offset: 0, type: 'uint8' as const }] },
        ],
      }),
    ).toMatch(/overlaps type byte/);
    expect(layoutProblem({ frames: [small, small] })).toMatch(/needs a type/);
    expect(layoutProblem({ frames: [{ ...frame, method: 'thing.topo.add' }] })).toMatch(/method/);
    expect(layoutProblem({ frames: [{ ...frame, fields: [{ name: 'a', offset: 0, type: 'uint8', scale: 0 }] }] })).toMatch(/scale/);
  });

  it('encodes a command frame and refuses values that do not fit', () => {
    const codec = binaryLayoutCodec({
      frames: [layout.frames[0]!],
      commands: {
        'thing.service.set': {
          type: 7,
          length: 7,
          id: { offset: 1, type: 'uint32' },
          fields: [{ name: 'level', offset: 5, type: 'int16', scale: 0.5 }],
        },
      },
    });
    const frame = codec.encodeCommand({ id: 'c1', frameId: 9, method: 'thing.service.set', params: { level: -3 } });
    expect([...frame]).toEqual([7, 0, 0, 0, 9, 0xff, 0xfa]);
    expect(codeOf(() => codec.encodeCommand({ id: 'c2', frameId: 1, method: 'thing.service.set', params: { level: 1e9 } }))).toBe(99400);
    expect(codeOf(() => codec.encodeCommand({ id: 'c3', frameId: 1, method: 'thing.service.other', params: {} }))).toBe(99400);
  });
});

describe('CBOR raw codec', () => {
  it('refuses trailing bytes, non-maps and a missing method with 1220', () => {
    const ok = cborRawCodec.encodeCommand({ id: '1', method: 'thing.measurepoint.post', params: {} });
    expect(cborRawCodec.decodeRequest(ok)).toMatchObject({ id: '1', method: 'thing.measurepoint.post' });
    expect(codeOf(() => cborRawCodec.decodeRequest(Buffer.concat([ok, Buffer.from([0x01])])))).toBe(1220);
    expect(codeOf(() => cborRawCodec.decodeRequest(Buffer.from([0x83, 1, 2, 3])))).toBe(1220);
    expect(codeOf(() => cborRawCodec.decodeRequest(Buffer.from([0xa1, 0x61, 0x61, 0x01])))).toBe(1220);
  });
});
