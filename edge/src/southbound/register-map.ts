/**
 * The register map of one device model: which Modbus table and address holds each measurepoint,
 * how its registers encode the value, and whether a measurepoint set may write it.
 * engineering value = raw × scale + offset; a write inverts that and refuses what the type cannot hold.
 */
export type ReadFunctionCode = 1 | 2 | 3 | 4;
export type WriteFunctionCode = 5 | 6 | 15 | 16;
export type PointType = 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
/** Order of the two 16-bit words of a 32-bit value: 'BE' = high word first (Modbus default), 'LE' = low word first. */
export type WordOrder = 'BE' | 'LE';

export interface PointSpec {
  fc: ReadFunctionCode;
  /** PDU address, 0-based (register 40001 is fc 3, address 0). */
  address: number;
  type: PointType;
  wordOrder?: WordOrder;
  scale?: number;
  offset?: number;
  writable?: { fc: WriteFunctionCode };
}

export interface RegisterMap {
  points: { [pointId: string]: PointSpec };
}

const readFcs: readonly number[] = [1, 2, 3, 4];
const types: readonly string[] = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32'];
const pointKeys: readonly string[] = ['fc', 'address', 'type', 'wordOrder', 'scale', 'offset', 'writable'];

/** Number of 16-bit registers a value occupies; a bit counts as one coil or input. */
export function pointWidth(type: PointType): 1 | 2 {
  return type === 'int32' || type === 'uint32' || type === 'float32' ? 2 : 1;
}

export function isBitTable(fc: ReadFunctionCode): fc is 1 | 2 {
  return fc === 1 || fc === 2;
}

/**
 * Checks a register map read from a config file and returns it typed. Every error names the key
 * (`map.points.soc.wordOrder: …`) so an operator can fix the file without reading code.
 */
export function parseRegisterMap(input: unknown, path = 'map'): RegisterMap {
  if (!isObject(input)) throw new TypeError(`${path}: must be an object`);
  for (const key of Object.keys(input)) if (key !== 'points') throw new TypeError(`${path}.${key}: unknown key`);
  const points = input['points'];
  if (!isObject(points)) throw new TypeError(`${path}.points: must be an object`);
  const out: RegisterMap = { points: {} };
  for (const [id, spec] of Object.entries(points)) out.points[id] = parsePoint(spec, `${path}.points.${id}`);
  return out;
}

function parsePoint(spec: unknown, path: string): PointSpec {
  if (!isObject(spec)) throw new TypeError(`${path}: must be an object`);
  for (const key of Object.keys(spec)) if (!pointKeys.includes(key)) throw new TypeError(`${path}.${key}: unknown key`);
  const { fc, address, type, wordOrder, scale, offset, writable } = spec;
  if (typeof fc !== 'number' || !readFcs.includes(fc)) throw new TypeError(`${path}.fc: must be 1, 2, 3 or 4`);
  if (typeof address !== 'number' || !Number.isInteger(address) || address < 0 || address > 0xffff) {
    throw new TypeError(`${path}.address: must be an integer from 0 to 65535`);
  }
  if (typeof type !== 'string' || !types.includes(type)) throw new TypeError(`${path}.type: must be one of ${types.join(', ')}`);
  const point: PointSpec = { fc: fc as ReadFunctionCode, address, type: type as PointType };
  // Bits live only in the coil and discrete-input tables, registers only in the other two.
  if (isBitTable(point.fc) !== (point.type === 'bool')) {
    throw new TypeError(`${path}.type: fc ${fc} holds ${isBitTable(point.fc) ? 'bits (type bool)' : 'registers (not bool)'}`);
  }
  if (!isBitTable(point.fc) && address + pointWidth(point.type) - 1 > 0xffff) {
    throw new TypeError(`${path}.address: a ${type} at ${address} runs past register 65535`);
  }
  if (wordOrder !== undefined) {
    if (wordOrder !== 'BE' && wordOrder !== 'LE') throw new TypeError(`${path}.wordOrder: must be BE or LE`);
    if (pointWidth(point.type) !== 2) throw new TypeError(`${path}.wordOrder: only 32-bit types have a word order`);
    point.wordOrder = wordOrder;
  }
  for (const [key, v] of [
    ['scale', scale],
    ['offset', offset],
  ] as const) {
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${path}.${key}: must be a finite number`);
    if (point.type === 'bool') throw new TypeError(`${path}.${key}: a bool point has no ${key}`);
    if (key === 'scale' && v === 0) throw new TypeError(`${path}.scale: must not be 0 (a write could not invert it)`);
    point[key] = v;
  }
  if (writable !== undefined) point.writable = parseWritable(writable, point, `${path}.writable`);
  return point;
}

function parseWritable(w: unknown, point: PointSpec, path: string): { fc: WriteFunctionCode } {
  if (!isObject(w)) throw new TypeError(`${path}: must be an object`);
  for (const key of Object.keys(w)) if (key !== 'fc') throw new TypeError(`${path}.${key}: unknown key`);
  const fc = w['fc'];
  // A write must land in the table the point is read from: coils (fc 1) or holding registers (fc 3).
  const allowed = point.fc === 1 ? [5, 15] : point.fc === 3 ? (pointWidth(point.type) === 2 ? [16] : [6, 16]) : [];
  if (allowed.length === 0) throw new TypeError(`${path}: fc ${point.fc} is read-only (only coils and holding registers can be written)`);
  if (typeof fc !== 'number' || !allowed.includes(fc)) throw new TypeError(`${path}.fc: must be ${allowed.join(' or ')} for this point`);
  return { fc: fc as WriteFunctionCode };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
