import { describe, expect, it } from 'vitest';
import { decodeRegisters, encodeValue } from '../src/southbound/codec.js';
import { SouthboundError } from '../src/southbound/errors.js';
import { decodeBlock, planReads } from '../src/southbound/read-plan.js';
import { parseRegisterMap, type PointSpec } from '../src/southbound/register-map.js';

/** Register words as the Modbus spec and device datasheets write them, checked by hand. */
describe('register codec', () => {
  it.each<[string, PointSpec, number[], number]>([
    ['int16 negative', { fc: 3, address: 0, type: 'int16' }, [0xfc18], -1000],
    ['uint16 above 32767', { fc: 3, address: 0, type: 'uint16' }, [0xfc18], 64536],
    ['uint16 with scale and offset', { fc: 4, address: 0, type: 'uint16', scale: 0.1, offset: -40 }, [738], 33.8],
    ['int32 BE (high word first)', { fc: 3, address: 0, type: 'int32', wordOrder: 'BE' }, [0xfffe, 0x1dc0], -123456],
    ['int32 LE (low word first)', { fc: 3, address: 0, type: 'int32', wordOrder: 'LE' }, [0x1dc0, 0xfffe], -123456],
    ['int32 defaults to BE', { fc: 3, address: 0, type: 'int32' }, [0xfffe, 0x1dc0], -123456],
    ['uint32 BE', { fc: 4, address: 0, type: 'uint32', wordOrder: 'BE' }, [0x8000, 0x0001], 2147483649],
    ['uint32 LE with scale', { fc: 4, address: 0, type: 'uint32', wordOrder: 'LE', scale: 0.01 }, [0xd690, 0x0012], 12345.76],
    ['float32 BE', { fc: 3, address: 0, type: 'float32', wordOrder: 'BE' }, [0x4049, 0x0fdb], 3.1415927],
    ['float32 LE', { fc: 3, address: 0, type: 'float32', wordOrder: 'LE' }, [0x0fdb, 0x4049], 3.1415927],
    ['float32 keeps the decimal a device meant', { fc: 4, address: 0, type: 'float32' }, [0x4249, 0x3333], 50.3],
    ['float32 with scale and offset', { fc: 4, address: 0, type: 'float32', scale: 2, offset: 1 }, [0x3fc0, 0x0000], 4],
  ])('decodes %s', (_, spec, words, expected) => {
    expect(decodeRegisters(spec, words)).toBe(expected);
  });

  /** The words of a float32, high word first. */
  const wordsOf = (x: number): number[] => {
    const b = Buffer.alloc(4);
    b.writeFloatBE(x, 0);
    return [b.readUInt16BE(0), b.readUInt16BE(2)];
  };
  /** The definition: the fewest significant digits (1–9) whose decimal reads back as the same float32. */
  const shortest = (x: number): number => {
    for (let digits = 1; digits <= 9; digits++) {
      const c = Number(x.toPrecision(digits));
      if (Math.fround(c) === x) return c;
    }
    return x;
  };
  const f32 = { fc: 3, address: 0, type: 'float32' } as const satisfies PointSpec;

  it.each([
    // Halfway between two decimals of the same length, both of which read back: toPrecision rounds
    // away from zero, and so must a faster path.
    [2598116.75, 2598116.8],
    [-2598116.75, -2598116.8],
    [-422034.125, -422034.13],
    [0.1, 0.1],
    [-0.001, -0.001],
    [9999999, 9999999],
    [16777216, 16777216],
    [1e-7, 1e-7],
  ])('float32 %d reads as %d', (x, expected) => {
    expect(decodeRegisters(f32, wordsOf(x))).toBe(expected);
  });

  it('every float32 reads as its shortest decimal (random words, and decimals a device would hold)', () => {
    const words = new Uint16Array(2);
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 50_000; i++) {
      words[0] = next() >>> 16;
      words[1] = next() >>> 16;
      const b = Buffer.alloc(4);
      b.writeUInt16BE(words[0], 0);
      b.writeUInt16BE(words[1], 2);
      const x = b.readFloatBE(0);
      const got = decodeRegisters(f32, [words[0], words[1]]);
      if (Number.isNaN(x)) expect(got).toBeNaN();
      else expect(got).toBe(shortest(x));
    }
    for (let i = 0; i < 50_000; i++) {
      const x = Math.fround(((next() % 2_000_001) - 1_000_000) / 10 ** (i % 7));
      expect(decodeRegisters(f32, wordsOf(x))).toBe(shortest(x));
    }
  });

  /** A uint32 register pair holding `raw`, read with `scale` and `offset`. */
  const scaled = (raw: number, scale: number, offset: number): number =>
    decodeRegisters({ fc: 3, address: 0, type: 'uint32', scale, offset }, [Math.floor(raw / 65536), raw % 65536]);
  it.each([
    // Exactly halfway at the 16th digit: rounded away from zero.
    [1000000.001953125, 1000000.00195313],
    [-1000000.001953125, -1000000.00195313],
    [123456.78901234375, 123456.789012344],
    [0.001003265380859375, 0.00100326538085938],
    // Next to powers of ten, where the number of places changes.
    [9999999.999999998, 10000000],
    [0.001, 0.001],
    [1e7, 1e7],
    [123.40000000000001, 123.4],
  ])('a scaled reading of %d is kept to 15 significant digits: %d', (x, expected) => {
    expect(scaled(0, 1, x)).toBe(expected);
  });

  it.each<[string, PointSpec, number | boolean, number[] | boolean]>([
    ['int16 negative', { fc: 3, address: 0, type: 'int16' }, -1000, [0xfc18]],
    ['uint16 inverting scale and offset', { fc: 3, address: 0, type: 'uint16', scale: 0.1, offset: -40 }, 33.8, [738]],
    ['to the nearest raw step', { fc: 3, address: 0, type: 'uint16', scale: 0.1 }, 50.26, [503]],
    ['int32 LE', { fc: 3, address: 0, type: 'int32', wordOrder: 'LE' }, -123456, [0x1dc0, 0xfffe]],
    ['uint32 BE', { fc: 3, address: 0, type: 'uint32' }, 2147483649, [0x8000, 0x0001]],
    ['float32 LE', { fc: 3, address: 0, type: 'float32', wordOrder: 'LE' }, 1.5, [0x0000, 0x3fc0]],
    ['a coil from true', { fc: 1, address: 0, type: 'bool' }, true, true],
    ['a coil from 0', { fc: 1, address: 0, type: 'bool' }, 0, false],
  ])('encodes %s', (_, spec, value, expected) => {
    expect(encodeValue('p', spec, value)).toEqual(expected);
  });

  it.each<[PointSpec, unknown, string]>([
    [{ fc: 3, address: 0, type: 'int16' }, 32768, 'out-of-range'],
    [{ fc: 3, address: 0, type: 'uint16' }, -1, 'out-of-range'],
    [{ fc: 3, address: 0, type: 'uint16', scale: 0.1 }, 6553.6, 'out-of-range'],
    [{ fc: 3, address: 0, type: 'int32' }, 2 ** 31, 'out-of-range'],
    [{ fc: 3, address: 0, type: 'uint32' }, 2 ** 32, 'out-of-range'],
    [{ fc: 3, address: 0, type: 'float32' }, 1e39, 'out-of-range'],
    [{ fc: 3, address: 0, type: 'int16' }, '12', 'invalid-value'],
    [{ fc: 3, address: 0, type: 'int16' }, Number.NaN, 'invalid-value'],
    [{ fc: 1, address: 0, type: 'bool' }, 2, 'invalid-value'],
  ])('refuses %j ← %j (%s)', (spec, value, reason) => {
    const attempt = () => encodeValue('setpoint', spec, value);
    expect(attempt).toThrow(SouthboundError);
    expect(attempt).toThrow(expect.objectContaining({ reason, message: expect.stringContaining('setpoint') }));
  });

  it('names the engineering range a scaled point can hold', () => {
    expect(() => encodeValue('limit', { fc: 3, address: 0, type: 'uint16', scale: 0.1 }, 7000)).toThrow(
      /limit: 7000 is out of range .*0 to 6553\.5/,
    );
  });
});

describe('read plan', () => {
  it('groups touching points of one function code and never bridges a gap', () => {
    const plan = planReads({
      points: {
        a: { fc: 4, address: 0, type: 'uint32' },
        b: { fc: 4, address: 2, type: 'int16' },
        c: { fc: 4, address: 4, type: 'int16' }, // gap at 3
        d: { fc: 3, address: 3, type: 'int16' },
        e: { fc: 1, address: 0, type: 'bool' },
        f: { fc: 1, address: 1, type: 'bool' },
      },
    });
    expect(plan.map(({ fc, start, count, points }) => ({ fc, start, count, ids: points.map((p) => p.id) }))).toEqual([
      { fc: 1, start: 0, count: 2, ids: ['e', 'f'] },
      { fc: 3, start: 3, count: 1, ids: ['d'] },
      { fc: 4, start: 0, count: 3, ids: ['a', 'b'] },
      { fc: 4, start: 4, count: 1, ids: ['c'] },
    ]);
  });

  it('splits at the 125-register limit of one request', () => {
    const points = Object.fromEntries(
      Array.from({ length: 130 }, (_, i) => [`r${i}`, { fc: 3 as const, address: i, type: 'uint16' as const }]),
    );
    expect(planReads({ points }).map((b) => [b.start, b.count])).toEqual([
      [0, 125],
      [125, 5],
    ]);
  });

  it('decodes a block and leaves out NaN (a device saying "not available")', () => {
    const [block] = planReads({ points: { x: { fc: 4, address: 0, type: 'float32' }, y: { fc: 4, address: 2, type: 'int16' } } });
    expect(decodeBlock(block!, [0x7fc0, 0x0000, 0xffff])).toEqual({ y: -1 });
  });
});

describe('register map validation', () => {
  it.each<[unknown, RegExp]>([
    [{ points: { soc: { fc: 4, address: 0, type: 'float32', wordOrder: 'ME' } } }, /^map\.points\.soc\.wordOrder: must be BE or LE$/],
    [{ points: { soc: { fc: 4, address: 0, type: 'float32', unit: '%' } } }, /^map\.points\.soc\.unit: unknown key$/],
    [{ points: { x: { fc: 7, address: 0, type: 'int16' } } }, /^map\.points\.x\.fc: must be 1, 2, 3 or 4$/],
    [{ points: { x: { fc: 3, address: 0, type: 'bool' } } }, /^map\.points\.x\.type: fc 3 holds registers/],
    [{ points: { x: { fc: 2, address: 0, type: 'bool', writable: { fc: 5 } } } }, /^map\.points\.x\.writable: fc 2 is read-only/],
    [{ points: { x: { fc: 3, address: 0, type: 'int32', writable: { fc: 6 } } } }, /^map\.points\.x\.writable\.fc: must be 16/],
    [{ points: { x: { fc: 3, address: 65535, type: 'int32' } } }, /^map\.points\.x\.address: a int32 at 65535 runs past/],
    [{ points: { x: { fc: 3, address: 0, type: 'int16', scale: 0 } } }, /^map\.points\.x\.scale: must not be 0/],
    [{ points: { x: { fc: 3, address: 0, type: 'int16', wordOrder: 'BE' } } }, /^map\.points\.x\.wordOrder: only 32-bit/],
    [{ pionts: {} }, /^map\.pionts: unknown key$/],
  ])('refuses %j', (input, message) => {
    expect(() => parseRegisterMap(input)).toThrow(message);
  });
});
