/**
 * A simulated device as a Modbus master sees it: a model's physics laid into the four register
 * tables on every request, and setpoint writes passed back to the physics. Only addresses in the
 * register map exist; a read past them or a write to anything but a writable point is refused
 * with exception 2, an unacceptable setpoint with exception 3, as real devices do.
 */
import { fromWords, toWords, widthOf } from './codec.js';
import type { DeviceBehaviour, DeviceModel } from './models/model.js';
import { exceptionCode, ModbusException, type DataModel } from './modbus/pdu.js';
import type { PointSpec, PointValue, RegisterMap } from './register-map.js';

type Table = 1 | 2 | 3 | 4;

export class SimulatedDevice implements DataModel {
  private readonly behaviour: DeviceBehaviour;
  private readonly bits: Record<1 | 2, boolean[]>;
  private readonly words: Record<3 | 4, Uint16Array>;
  private readonly points: Array<[string, PointSpec]>;

  constructor(
    readonly model: DeviceModel,
    seed: number,
    private readonly clock: () => number,
  ) {
    this.behaviour = model.create(seed, clock());
    this.points = Object.entries(model.map.points);
    const size = (fc: Table) =>
      Math.max(0, ...this.points.filter(([, p]) => p.fc === fc).map(([, p]) => p.address + (p.fc <= 2 ? 1 : widthOf(p))));
    this.bits = { 1: new Array<boolean>(size(1)).fill(false), 2: new Array<boolean>(size(2)).fill(false) };
    this.words = { 3: new Uint16Array(size(3)), 4: new Uint16Array(size(4)) };
    this.refresh();
  }

  get map(): RegisterMap {
    return this.model.map;
  }

  /** Every point's value exactly as a master reading the registers now would decode it. */
  values(): Record<string, PointValue> {
    this.refresh();
    const out: Record<string, PointValue> = {};
    for (const [id, p] of this.points) {
      out[id] =
        p.fc === 1 || p.fc === 2
          ? this.bits[p.fc][p.address] === true
          : fromWords(p, Array.from(this.words[p.fc].subarray(p.address, p.address + widthOf(p))));
    }
    return out;
  }

  readBits(fc: 1 | 2, start: number, count: number): boolean[] {
    this.refresh();
    inRange(this.bits[fc].length, start, count);
    return this.bits[fc].slice(start, start + count);
  }

  readRegisters(fc: 3 | 4, start: number, count: number): number[] {
    this.refresh();
    inRange(this.words[fc].length, start, count);
    return Array.from(this.words[fc].subarray(start, start + count));
  }

  writeBits(start: number, values: boolean[]): void {
    const targets = this.writableIn(1, start, values.length);
    this.apply(targets.map(([id, p]) => [id, values[p.address - start] === true]));
  }

  writeRegisters(start: number, values: number[]): void {
    const targets = this.writableIn(3, start, values.length);
    this.apply(targets.map(([id, p]) => [id, fromWords(p, values.slice(p.address - start, p.address - start + widthOf(p)))]));
  }

  /** Raw table contents, for tests that check what a write left in the registers. */
  peekRegisters(fc: 3 | 4, start: number, count: number): number[] {
    return this.readRegisters(fc, start, count);
  }

  peekBits(fc: 1 | 2, start: number, count: number): boolean[] {
    return this.readBits(fc, start, count);
  }

  private refresh(): void {
    this.behaviour.advance(this.clock());
    const values = this.behaviour.values();
    for (const [id, p] of this.points) {
      const v = values[id];
      if (v === undefined) continue;
      if (p.fc === 1 || p.fc === 2) this.bits[p.fc][p.address] = v === true;
      else this.words[p.fc].set(toWords(p, Number(v)), p.address);
    }
  }

  /** The writable points a write covers; every addressed register must belong to one, entirely. */
  private writableIn(fc: 1 | 3, start: number, count: number): Array<[string, PointSpec]> {
    const end = start + count;
    const touched = this.points.filter(
      ([, p]) => p.fc === fc && p.writable && p.address < end && p.address + (fc === 1 ? 1 : widthOf(p)) > start,
    );
    const covered = touched.reduce((n, [, p]) => n + (fc === 1 ? 1 : widthOf(p)), 0);
    const whole = touched.every(([, p]) => p.address >= start && p.address + (fc === 1 ? 1 : widthOf(p)) <= end);
    if (covered !== count || !whole) {
      throw new ModbusException(exceptionCode.illegalDataAddress, `no writable point at ${start}..${end - 1}`);
    }
    return touched;
  }

  /** All setpoints of one write or none: a refused value rolls back the ones applied before it. */
  private apply(updates: Array<[string, PointValue]>): void {
    this.behaviour.advance(this.clock());
    const before = this.behaviour.values();
    const applied: string[] = [];
    for (const [id, value] of updates) {
      if (!this.behaviour.set(id, value)) {
        for (const done of applied) this.behaviour.set(done, before[done] as PointValue);
        throw new ModbusException(exceptionCode.illegalDataValue, `${id} refuses ${value}`);
      }
      applied.push(id);
    }
    this.refresh();
  }
}

function inRange(size: number, start: number, count: number): void {
  if (start + count > size) throw new ModbusException(exceptionCode.illegalDataAddress, `${start}..${start + count - 1} beyond ${size}`);
}
