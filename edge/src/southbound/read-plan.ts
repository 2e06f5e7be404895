/**
 * Turns a register map into as few read requests as possible: points of the same function code
 * whose addresses touch or overlap share one request. Gaps are never bridged: many devices answer
 * "illegal data address" for a register they do not implement, even in the middle of a block.
 */
import { decodeRegistersAt } from './codec.js';
import { isBitTable, pointWidth, type PointSpec, type ReadFunctionCode, type RegisterMap } from './register-map.js';

/** Protocol limits per request (Modbus Application Protocol v1.1b3, §6.1–6.4). */
const maxCount: Readonly<Record<ReadFunctionCode, number>> = { 1: 2000, 2: 2000, 3: 125, 4: 125 };

export interface ReadBlock {
  fc: ReadFunctionCode;
  start: number;
  count: number;
  points: Array<{ id: string; spec: PointSpec }>;
}

export function planReads(map: RegisterMap): ReadBlock[] {
  const sorted = Object.entries(map.points)
    .map(([id, spec]) => ({ id, spec }))
    .sort((a, b) => a.spec.fc - b.spec.fc || a.spec.address - b.spec.address);
  const blocks: ReadBlock[] = [];
  let current: ReadBlock | undefined;
  for (const p of sorted) {
    const width = isBitTable(p.spec.fc) ? 1 : pointWidth(p.spec.type);
    const end = p.spec.address + width;
    const joins =
      current !== undefined &&
      current.fc === p.spec.fc &&
      p.spec.address <= current.start + current.count &&
      Math.max(end, current.start + current.count) - current.start <= maxCount[p.spec.fc];
    if (current && joins) {
      current.count = Math.max(end, current.start + current.count) - current.start;
      current.points.push(p);
    } else {
      current = { fc: p.spec.fc, start: p.spec.address, count: width, points: [p] };
      blocks.push(current);
    }
  }
  return blocks;
}

/**
 * Values of a block's points from the data a read returned (registers, or bits padded to whole
 * bytes), written into `into` (a new object when not given). Non-finite floats (devices use NaN for
 * "not available") are left out rather than posted as null.
 */
export function decodeBlock(
  block: ReadBlock,
  data: readonly (number | boolean)[],
  into: Record<string, number | boolean> = {},
): Record<string, number | boolean> {
  const bits = isBitTable(block.fc);
  for (const { id, spec } of block.points) {
    const i = spec.address - block.start;
    if (bits) {
      into[id] = Boolean(data[i]);
      continue;
    }
    const width = pointWidth(spec.type);
    if (i + width > data.length)
      throw new RangeError(`expected ${width} word(s) for ${spec.type} at ${spec.address}, got ${data.length - i}`);
    const value = decodeRegistersAt(spec, data, i);
    if (Number.isFinite(value)) into[id] = value;
  }
  return into;
}
