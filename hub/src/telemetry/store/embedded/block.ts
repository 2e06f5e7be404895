/**
 * One time block of one series: up to BLOCK_ROWS samples, in (time, tie) order, packed with the
 * Gorilla scheme (Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory Time Series Database",
 * VLDB 2015): timestamps as delta-of-delta, numbers as the XOR of each with the one before.
 * No well-kept npm package implements it (the few there are unmaintained and handle numbers only),
 * so it is written here; docs/PERFORMANCE-NOTES.md, "Telemetry store", has the layout and why.
 *
 * Layout: version byte, flag byte, varint row count, then one bit stream holding the timestamps
 * and, when every value is a number, the values; then, byte aligned and only when the flag says
 * the column exists: qualities (4 bits each, 15 = none), the resume bitmap, the values as a JSON
 * array (when not all numbers; JSON writes -0 as 0, as every API answer does anyway), and the ties as a JSON array ('' for device-dated rows).
 */
import { BitReader, BitWriter } from './bits.js';

export interface BlockRow {
  time: number;
  /** '' for a device-dated sample, the hub's tie-breaker otherwise (series.ts `newTie`). */
  tie: string;
  v: unknown;
  q?: number;
  r?: true;
}

/** Most rows per block: a block stays well inside one LMDB page pair, and a read decodes little beyond its page. */
export const BLOCK_ROWS = 1024;

const VERSION = 1;
const HAS_TIES = 1;
const HAS_QUALITY = 2;
const HAS_RESUME = 4;
const NUMERIC = 8;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** Index of the high and low 32-bit halves of a float64 in u32 (platform endianness). */
const [HI, LO] = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? [1, 0] : [0, 1];

export function encodeBlock(rows: readonly BlockRow[]): Buffer {
  let flags = NUMERIC;
  for (const r of rows) {
    if (r.tie !== '') flags |= HAS_TIES;
    if (r.q !== undefined) flags |= HAS_QUALITY;
    if (r.r) flags |= HAS_RESUME;
    if (typeof r.v !== 'number') flags &= ~NUMERIC;
  }
  const w = new BitWriter(64 + rows.length * 2);
  w.appendBytes(Uint8Array.of(VERSION, flags));
  w.writeVarint(rows.length);
  if (rows.length === 0) return w.finish();
  writeTimes(w, rows);
  if (flags & NUMERIC) writeFloats(w, rows);
  if (flags & HAS_QUALITY) {
    const q = new Uint8Array(Math.ceil(rows.length / 2));
    rows.forEach((r, i) => (q[i >> 1]! |= (r.q ?? 15) << (i & 1 ? 0 : 4)));
    w.appendBytes(q);
  }
  if (flags & HAS_RESUME) {
    const bits = new Uint8Array(Math.ceil(rows.length / 8));
    rows.forEach((r, i) => {
      if (r.r) bits[i >> 3]! |= 0x80 >> (i & 7);
    });
    w.appendBytes(bits);
  }
  if (!(flags & NUMERIC))
    writeJson(
      w,
      rows.map((r) => r.v),
    );
  if (flags & HAS_TIES)
    writeJson(
      w,
      rows.map((r) => r.tie),
    );
  return w.finish();
}

export function decodeBlock(block: Uint8Array): BlockRow[] {
  const r = new BitReader(block);
  const [version, flags] = r.readBytes(2);
  if (version !== VERSION) throw new RangeError(`telemetry block version ${version} is not known to this hub`);
  const n = r.readVarint();
  const rows: BlockRow[] = new Array<BlockRow>(n);
  if (n === 0) return rows;
  const times = readTimes(r, n);
  const values: unknown[] = flags! & NUMERIC ? readFloats(r, n) : [];
  for (let i = 0; i < n; i++) rows[i] = { time: times[i]!, tie: '', v: values[i] };
  if (flags! & HAS_QUALITY) {
    const q = r.readBytes(Math.ceil(n / 2));
    for (let i = 0; i < n; i++) {
      const v = (q[i >> 1]! >> (i & 1 ? 0 : 4)) & 15;
      if (v !== 15) rows[i]!.q = v;
    }
  }
  if (flags! & HAS_RESUME) {
    const bits = r.readBytes(Math.ceil(n / 8));
    for (let i = 0; i < n; i++) if (bits[i >> 3]! & (0x80 >> (i & 7))) rows[i]!.r = true;
  }
  if (!(flags! & NUMERIC)) readJson(r, n).forEach((v, i) => (rows[i]!.v = v));
  if (flags! & HAS_TIES) readJson(r, n).forEach((t, i) => (rows[i]!.tie = typeof t === 'string' ? t : ''));
  return rows;
}

/**
 * Delta-of-delta timestamps: the first as 53 bits, then each change of the gap in the smallest
 * of five buckets ('0' for an unchanged gap: one bit per sample of a regular series).
 */
function writeTimes(w: BitWriter, rows: readonly BlockRow[]): void {
  const t0 = rows[0]!.time;
  w.write(Math.floor(t0 / 2 ** 32), 21);
  w.write(t0 >>> 0, 32);
  let prev = t0;
  let prevDelta = 0;
  for (let i = 1; i < rows.length; i++) {
    const t = rows[i]!.time;
    const delta = t - prev;
    const dod = delta - prevDelta;
    if (dod === 0) w.write(0, 1);
    else if (dod >= -63 && dod <= 64) {
      w.write(0b10, 2);
      w.write(dod + 63, 7);
    } else if (dod >= -255 && dod <= 256) {
      w.write(0b110, 3);
      w.write(dod + 255, 9);
    } else if (dod >= -2047 && dod <= 2048) {
      w.write(0b1110, 4);
      w.write(dod + 2047, 12);
    } else {
      const mag = Math.abs(dod);
      w.write(0b1111, 4);
      w.write(dod < 0 ? 1 : 0, 1);
      w.write(Math.floor(mag / 2 ** 32), 22);
      w.write(mag >>> 0, 32);
    }
    prev = t;
    prevDelta = delta;
  }
}

function readTimes(r: BitReader, n: number): number[] {
  const out = new Array<number>(n);
  let prev = r.read(21) * 2 ** 32 + r.read(32);
  out[0] = prev;
  let prevDelta = 0;
  for (let i = 1; i < n; i++) {
    // The bucket is the count of leading 1 bits (0 to 4).
    let ones = 0;
    while (ones < 4 && r.read(1) === 1) ones++;
    let dod: number;
    if (ones === 0) dod = 0;
    else if (ones === 1) dod = r.read(7) - 63;
    else if (ones === 2) dod = r.read(9) - 255;
    else if (ones === 3) dod = r.read(12) - 2047;
    else {
      const negative = r.read(1) === 1;
      const mag = r.read(22) * 2 ** 32 + r.read(32);
      dod = negative ? -mag : mag;
    }
    prevDelta += dod;
    prev += prevDelta;
    out[i] = prev;
  }
  return out;
}

/**
 * XOR floats: '0' when the value repeats; otherwise '1', then either '0' and the meaningful bits
 * inside the previous window of leading/trailing zeros, or '1', 5 bits of leading zeros, 6 bits of
 * length - 1 and the meaningful bits.
 */
function writeFloats(w: BitWriter, rows: readonly BlockRow[]): void {
  f64[0] = rows[0]!.v as number;
  let prevHi = u32[HI]!;
  let prevLo = u32[LO]!;
  w.write(prevHi, 32);
  w.write(prevLo, 32);
  let winLead = -1;
  let winTrail = 0;
  for (let i = 1; i < rows.length; i++) {
    f64[0] = rows[i]!.v as number;
    const hi = u32[HI]!;
    const lo = u32[LO]!;
    const xHi = (hi ^ prevHi) >>> 0;
    const xLo = (lo ^ prevLo) >>> 0;
    prevHi = hi;
    prevLo = lo;
    if (xHi === 0 && xLo === 0) {
      w.write(0, 1);
      continue;
    }
    w.write(1, 1);
    const lead = Math.min(31, xHi === 0 ? 32 + Math.clz32(xLo) : Math.clz32(xHi));
    const trail = xLo === 0 ? 32 + ctz32(xHi) : ctz32(xLo);
    if (winLead >= 0 && lead >= winLead && trail >= winTrail) {
      w.write(0, 1);
      writeMeaningful(w, xHi, xLo, winTrail, 64 - winLead - winTrail);
    } else {
      const len = 64 - lead - trail;
      w.write(1, 1);
      w.write(lead, 5);
      w.write(len - 1, 6);
      writeMeaningful(w, xHi, xLo, trail, len);
      winLead = lead;
      winTrail = trail;
    }
  }
}

function readFloats(r: BitReader, n: number): number[] {
  const out = new Array<number>(n);
  let hi = r.read(32);
  let lo = r.read(32);
  u32[HI] = hi;
  u32[LO] = lo;
  out[0] = f64[0]!;
  let winLead = 0;
  let winTrail = 0;
  for (let i = 1; i < n; i++) {
    if (r.read(1) === 1) {
      if (r.read(1) === 1) {
        winLead = r.read(5);
        winTrail = 64 - winLead - (r.read(6) + 1);
      }
      const [xHi, xLo] = readMeaningful(r, winTrail, 64 - winLead - winTrail);
      hi = (hi ^ xHi) >>> 0;
      lo = (lo ^ xLo) >>> 0;
      u32[HI] = hi;
      u32[LO] = lo;
    }
    out[i] = f64[0]!;
  }
  return out;
}

/** Writes bits [trail, trail + len) of the 64-bit word (hi, lo). */
function writeMeaningful(w: BitWriter, hi: number, lo: number, trail: number, len: number): void {
  let sHi: number;
  let sLo: number;
  if (trail >= 32) {
    sHi = 0;
    sLo = hi >>> (trail - 32);
  } else if (trail > 0) {
    sHi = hi >>> trail;
    sLo = ((lo >>> trail) | (hi << (32 - trail))) >>> 0;
  } else {
    sHi = hi;
    sLo = lo;
  }
  if (len > 32) {
    w.write(sHi, len - 32);
    w.write(sLo, 32);
  } else w.write(len === 32 ? sLo : sLo & ((1 << len) - 1), len);
}

function readMeaningful(r: BitReader, trail: number, len: number): [number, number] {
  const sHi = len > 32 ? r.read(len - 32) : 0;
  const sLo = r.read(len > 32 ? 32 : len);
  if (trail >= 32) return [(sLo << (trail - 32)) >>> 0, 0];
  if (trail === 0) return [sHi >>> 0, sLo >>> 0];
  return [((sHi << trail) | (sLo >>> (32 - trail))) >>> 0, (sLo << trail) >>> 0];
}

function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}

function writeJson(w: BitWriter, values: unknown[]): void {
  const json = Buffer.from(JSON.stringify(values));
  w.writeVarint(json.length);
  w.appendBytes(json);
}

function readJson(r: BitReader, n: number): unknown[] {
  const parsed: unknown = JSON.parse(Buffer.from(r.readBytes(r.readVarint())).toString('utf8'));
  if (!Array.isArray(parsed) || parsed.length !== n) throw new RangeError('telemetry block column does not match its row count');
  return parsed;
}
