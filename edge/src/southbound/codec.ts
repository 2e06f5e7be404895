/**
 * Register words ⇄ engineering values for one point of a register map. Bytes inside a word are
 * always big-endian (Modbus); only the order of the two words of a 32-bit value varies by device.
 */
import { SouthboundError } from './errors.js';
import { pointWidth, type PointSpec, type PointType } from './register-map.js';

const FLOAT32_MAX = 3.4028234663852886e38;

const integerRange: Readonly<Record<Exclude<PointType, 'bool' | 'float32'>, readonly [number, number]>> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};

/** Decodes a register point from exactly its words (one, or two for 32-bit types) in wire order. */
export function decodeRegisters(spec: PointSpec, words: readonly number[]): number {
  const width = pointWidth(spec.type);
  if (words.length !== width) throw new RangeError(`expected ${width} word(s) for ${spec.type}, got ${words.length}`);
  return decodeRegistersAt(spec, words, 0);
}

/**
 * Decodes a register point whose words start at `at` in a read's data, without copying them out:
 * the poll loop decodes every point of every device this way (docs/BENCHMARKS.md, Edge runtime).
 */
export function decodeRegistersAt(spec: PointSpec, data: ArrayLike<number | boolean>, at: number): number {
  const raw = rawAt(spec, data, at);
  return spec.type === 'float32' ? applyScale(shortestFloat32(raw), spec) : applyScale(raw, spec);
}

/**
 * Encodes an engineering value for a write: the words for fc 6/16, or the bit for fc 5/15.
 * Throws SouthboundError('invalid-value' | 'out-of-range') naming the point, so a measurepoint set
 * is refused before anything reaches the device.
 */
export function encodeValue(pointId: string, spec: PointSpec, value: unknown): number[] | boolean {
  if (spec.type === 'bool') {
    if (typeof value === 'boolean') return value;
    if (value === 0 || value === 1) return value === 1;
    throw new SouthboundError('invalid-value', `${pointId}: expects true/false (or 1/0), got ${JSON.stringify(value)}`);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SouthboundError('invalid-value', `${pointId}: expects a finite number, got ${JSON.stringify(value)}`);
  }
  const scaled = cleanFloat((value - (spec.offset ?? 0)) / (spec.scale ?? 1));
  if (spec.type === 'float32') {
    if (Math.abs(scaled) > FLOAT32_MAX) throw outOfRange(pointId, spec, value);
    return wordsFromBuffer(spec, (b) => b.writeFloatBE(scaled, 0));
  }
  // The device's resolution is one raw step: a set point between steps goes to the nearest one.
  const raw = Math.round(scaled);
  const [min, max] = integerRange[spec.type];
  if (raw < min || raw > max) throw outOfRange(pointId, spec, value);
  if (spec.type === 'int16' || spec.type === 'uint16') return [raw & 0xffff];
  return wordsFromBuffer(spec, (b) => (spec.type === 'int32' ? b.writeInt32BE(raw, 0) : b.writeUInt32BE(raw, 0)));
}

/** One 4-byte scratch area for assembling 32-bit values (decoding is synchronous). */
const scratch = new DataView(new ArrayBuffer(4));

function rawAt(spec: PointSpec, data: ArrayLike<number | boolean>, at: number): number {
  const w0 = Number(data[at] ?? 0);
  if (spec.type === 'uint16') return w0 & 0xffff;
  if (spec.type === 'int16') return (w0 << 16) >> 16;
  const w1 = Number(data[at + 1] ?? 0);
  const [hi, lo] = spec.wordOrder === 'LE' ? [w1, w0] : [w0, w1];
  scratch.setUint16(0, hi);
  scratch.setUint16(2, lo);
  if (spec.type === 'int32') return scratch.getInt32(0);
  if (spec.type === 'uint32') return scratch.getUint32(0);
  return scratch.getFloat32(0);
}

function wordsFromBuffer(spec: PointSpec, write: (b: Buffer) => void): number[] {
  const b = Buffer.alloc(4);
  write(b);
  const hi = b.readUInt16BE(0);
  const lo = b.readUInt16BE(2);
  return spec.wordOrder === 'LE' ? [lo, hi] : [hi, lo];
}

function applyScale(raw: number, spec: PointSpec): number {
  if (spec.scale === undefined && spec.offset === undefined) return raw;
  return cleanFloat(raw * (spec.scale ?? 1) + (spec.offset ?? 0));
}

/** 1234 × 0.1 is 123.4 to an operator, not 123.40000000000001. */
function cleanFloat(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(15)) : x;
}

/** 10^k for k = 0…12: each exact, and below 2^53 times any float32 under 10^7 (24 + 28 bits). */
const POWERS_OF_TEN = Array.from({ length: 13 }, (_, k) => 10 ** k);

/**
 * The shortest decimal that reads back as the same float32: a device's 50.3 arrives as
 * 50.29999923706055 in a double, which is noise, not information.
 */
function shortestFloat32(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  // Where sensor values live, with arithmetic instead of formatting (a tenth of the time per value:
  // docs/BENCHMARKS.md, Edge runtime). For a float32 of magnitude 10^-3 to 10^7 a shortest decimal
  // has at most 12 places, so a × 10^k is exact in a double and rounding it half away from zero
  // is the rounding toPrecision does: the fewest places that read back give the same number as the
  // fewest significant digits below (checked once against it for every such float32).
  if (a >= 1e-3 && a < 1e7) {
    for (const p of POWERS_OF_TEN) {
      const c = Math.round(a * p) / p;
      if (Math.fround(c) === a) return x < 0 ? -c : c;
    }
  }
  // Rounding to more digits is never further from x, so "reads back" is monotonic in the number of
  // digits: a binary search over 1–9 finds the shortest with at most four roundings instead of nine.
  let lo = 1;
  let hi = 9;
  let best = Number(x.toPrecision(9));
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const candidate = Number(x.toPrecision(mid));
    if (Math.fround(candidate) === x) {
      best = candidate;
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  if (lo === 9) return Math.fround(best) === x ? best : x;
  return best;
}

function outOfRange(pointId: string, spec: PointSpec, value: number): SouthboundError {
  const scale = spec.scale ?? 1;
  const offset = spec.offset ?? 0;
  const [rawMin, rawMax] = spec.type === 'float32' ? [-FLOAT32_MAX, FLOAT32_MAX] : integerRange[spec.type as keyof typeof integerRange];
  const ends = [cleanFloat(rawMin * scale + offset), cleanFloat(rawMax * scale + offset)].sort((a, b) => a - b);
  return new SouthboundError(
    'out-of-range',
    `${pointId}: ${value} is out of range (${spec.type}${spec.scale !== undefined ? ` × ${scale}` : ''}${spec.offset !== undefined ? ` + ${offset}` : ''} holds ${ends[0]} to ${ends[1]})`,
  );
}
