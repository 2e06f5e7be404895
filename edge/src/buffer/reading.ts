/**
 * One buffered reading and its stored form. The stored form is the JSON of the exact entry that
 * goes into `params` of a `thing.measurepoint.resume.batch` request (docs/ENOS-PROTOCOL.md §4.1), so
 * the byte counts the buffer enforces are the bytes that go on the wire.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A plain value, or a value with its quality 0–9 (`"Power":{"value":1.0,"quality":9}`, §4.1). */
export type MeasurepointValue = JsonValue | { value: JsonValue; quality: number };

export interface Reading {
  productKey: string;
  deviceKey: string;
  /** Sample time, epoch ms. Part of the sample's identity at the hub: (assetId, pointId, time). */
  time: number;
  measurepoints: Record<string, MeasurepointValue>;
}

export interface EncodedReading {
  /** `{"productKey","deviceKey","measurepoints","time"}`: the resume/batch `params` entry. */
  json: string;
  bytes: number;
  time: number;
}

/**
 * Checks a reading and produces its stored form. Throws TypeError naming the field: a reading
 * the hub cannot store (or that JSON would silently alter, like NaN → null) must be refused
 * before it is acknowledged as durable, not discovered during replay.
 */
export function encodeReading(r: Reading, index: number): EncodedReading {
  const where = `readings[${index}]`;
  if (typeof r !== 'object' || r === null) throw new TypeError(`${where} must be an object`);
  for (const key of ['productKey', 'deviceKey'] as const) {
    if (typeof r[key] !== 'string' || r[key] === '') throw new TypeError(`${where}.${key} must be a non-empty string`);
  }
  if (!Number.isSafeInteger(r.time) || r.time < 0) throw new TypeError(`${where}.time must be epoch milliseconds (a non-negative integer)`);
  const mps: unknown = r.measurepoints;
  if (!isPlainObject(mps) || Object.keys(mps).length === 0) {
    throw new TypeError(`${where}.measurepoints must be an object with at least one measurepoint`);
  }
  for (const [id, value] of Object.entries(mps)) checkJson(value, `${where}.measurepoints.${id}`);
  // Field order of the wire entry; decodeReading relies on JSON.parse/stringify round-tripping it.
  const json = JSON.stringify({ productKey: r.productKey, deviceKey: r.deviceKey, measurepoints: mps, time: r.time });
  return { json, bytes: Buffer.byteLength(json, 'utf8'), time: r.time };
}

export function decodeReading(json: string): Reading {
  return JSON.parse(json) as Reading;
}

/**
 * The `time` of a stored entry without parsing it: encodeReading writes `time` as the entry's last
 * field, an integer, so it is the number after the last `"time":` (the age bound reads it for
 * every reading it meets). Falls back to a full parse for anything else.
 */
export function readingTime(json: string): number {
  const at = json.lastIndexOf('"time":');
  if (at >= 0 && json.charCodeAt(json.length - 1) === 0x7d /* } */) {
    const t = Number(json.slice(at + 7, -1));
    if (Number.isSafeInteger(t)) return t;
  }
  return decodeReading(json).time;
}

function checkJson(value: unknown, path: string): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path} must be a finite number`);
      return;
    case 'object':
      if (value === null) return;
      if (Array.isArray(value)) {
        value.forEach((v, i) => checkJson(v, `${path}[${i}]`));
        return;
      }
      if (!isPlainObject(value)) throw new TypeError(`${path} must be plain JSON`);
      for (const [k, v] of Object.entries(value)) checkJson(v, `${path}.${k}`);
      return;
    default:
      throw new TypeError(`${path} must be a JSON value, got ${typeof value}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
