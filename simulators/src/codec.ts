/**
 * How the simulated devices lay values into registers. Written independently of the edge's codec
 * (DataView here, Buffer there) so a shared misunderstanding of word order cannot hide in both.
 */
import type { PointSpec } from './register-map.js';

export function widthOf(spec: PointSpec): 1 | 2 {
  return spec.type === 'int32' || spec.type === 'uint32' || spec.type === 'float32' ? 2 : 1;
}

/** Engineering value → register words in wire order; integer types round to the nearest raw step and saturate. */
export function toWords(spec: PointSpec, value: number): number[] {
  const raw = (value - (spec.offset ?? 0)) / (spec.scale ?? 1);
  const view = new DataView(new ArrayBuffer(4));
  switch (spec.type) {
    case 'int16':
      return [clampRound(raw, -32768, 32767) & 0xffff];
    case 'uint16':
      return [clampRound(raw, 0, 65535)];
    case 'int32':
      view.setInt32(0, clampRound(raw, -2147483648, 2147483647));
      break;
    case 'uint32':
      view.setUint32(0, clampRound(raw, 0, 4294967295));
      break;
    case 'float32':
      view.setFloat32(0, raw);
      break;
    case 'bool':
      throw new TypeError('a bool point has no registers');
  }
  const high = view.getUint16(0);
  const low = view.getUint16(2);
  return spec.wordOrder === 'LE' ? [low, high] : [high, low];
}

/** Register words in wire order → engineering value. */
export function fromWords(spec: PointSpec, words: readonly number[]): number {
  const view = new DataView(new ArrayBuffer(4));
  let raw: number;
  if (spec.type === 'int16' || spec.type === 'uint16') {
    view.setUint16(0, words[0] ?? 0);
    raw = spec.type === 'int16' ? view.getInt16(0) : view.getUint16(0);
  } else {
    const [first = 0, second = 0] = words;
    view.setUint16(0, spec.wordOrder === 'LE' ? second : first);
    view.setUint16(2, spec.wordOrder === 'LE' ? first : second);
    raw = spec.type === 'int32' ? view.getInt32(0) : spec.type === 'uint32' ? view.getUint32(0) : view.getFloat32(0);
  }
  return raw * (spec.scale ?? 1) + (spec.offset ?? 0);
}

function clampRound(x: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(x)));
}
