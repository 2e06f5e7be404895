/**
 * The simulated field device of the edge benchmark: 10 measurepoints in one contiguous block of
 * holding registers, 5 int16 (scaled by 0.1) at 0–4 and 5 float32 (big-endian word order) at 5–14,
 * so that the edge reads each device with a single fc 3 request of 15 registers, as a well-laid-out
 * inverter map would. Shared by the Modbus farm (test/bench/edge-modbus-farm.ts), the bare poller
 * (test/bench/edge-bare-poller.ts) and the edge's config.
 */

export const INT_POINTS = 5;
export const FLOAT_POINTS = 5;
export const POINTS = INT_POINTS + FLOAT_POINTS;
/** Registers per device: one per int16, two per float32. */
export const REGISTERS = INT_POINTS + 2 * FLOAT_POINTS;
export const INT_SCALE = 0.1;

const intId = (i: number) => `i${i}`;
const floatId = (i: number) => `f${i}`;

/** The register map in the edge's config format (edge/src/config/schema.ts, `registerPoint`). */
export function benchRegisterMap(): {
  points: Record<string, { fc: 3; address: number; type: 'int16' | 'float32'; scale?: number; wordOrder?: 'BE' }>;
} {
  const points: Record<string, { fc: 3; address: number; type: 'int16' | 'float32'; scale?: number; wordOrder?: 'BE' }> = {};
  for (let i = 0; i < INT_POINTS; i++) points[intId(i)] = { fc: 3, address: i, type: 'int16', scale: INT_SCALE };
  for (let i = 0; i < FLOAT_POINTS; i++) points[floatId(i)] = { fc: 3, address: INT_POINTS + 2 * i, type: 'float32', wordOrder: 'BE' };
  return { points };
}

/** The sub-devices' thing model in the hub: the same 10 points, INT-scaled ones as FLOAT. */
export function benchThingModel(): { thingModel: { measurepoints: Record<string, { dataType: 'FLOAT' }> } } {
  const measurepoints: Record<string, { dataType: 'FLOAT' }> = {};
  for (let i = 0; i < INT_POINTS; i++) measurepoints[intId(i)] = { dataType: 'FLOAT' };
  for (let i = 0; i < FLOAT_POINTS; i++) measurepoints[floatId(i)] = { dataType: 'FLOAT' };
  return { thingModel: { measurepoints } };
}

/** The registers of device `index` at `nowMs`: slowly changing values, different per device. */
export function registersAt(index: number, nowMs: number): number[] {
  const t = nowMs / 1000;
  const words: number[] = [];
  for (let i = 0; i < INT_POINTS; i++) words.push(Math.round(1000 * Math.sin(t / 7 + index + i)) & 0xffff);
  const b = Buffer.alloc(4);
  for (let i = 0; i < FLOAT_POINTS; i++) {
    b.writeFloatBE(230 + 10 * Math.sin(t / 11 + index * 0.37 + i), 0);
    words.push(b.readUInt16BE(0), b.readUInt16BE(2));
  }
  return words;
}

/** Decodes one device's 15 registers as the map says (what the bare poller does per reading). */
export function decodeRegisters(words: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < INT_POINTS; i++) out[intId(i)] = (((words[i] ?? 0) << 16) >> 16) * INT_SCALE;
  const b = Buffer.alloc(4);
  for (let i = 0; i < FLOAT_POINTS; i++) {
    b.writeUInt16BE(words[INT_POINTS + 2 * i] ?? 0, 0);
    b.writeUInt16BE(words[INT_POINTS + 2 * i + 1] ?? 0, 2);
    out[floatId(i)] = b.readFloatBE(0);
  }
  return out;
}
