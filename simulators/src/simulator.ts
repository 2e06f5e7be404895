/** Starts one simulated device behind its own Modbus TCP server. */
import { SimulatedDevice } from './device.js';
import { listenModbusTcp } from './modbus/tcp-server.js';
import { energyStorage } from './models/energy-storage.js';
import { fan } from './models/fan.js';
import { inverter } from './models/inverter.js';
import type { DeviceModel, SimulatorKind } from './models/model.js';
import type { PointValue, RegisterMap } from './register-map.js';

export const models: Readonly<Record<SimulatorKind, DeviceModel>> = {
  inverter,
  fan,
  'energy-storage': energyStorage,
};

export const simulatorKinds = Object.keys(models) as SimulatorKind[];

export interface SimulatorOptions {
  kind: SimulatorKind;
  /** 0 for an ephemeral port (read it back from the result). */
  port: number;
  /** Modbus unit id the device answers to (and 255); others get exception 0x0B. Default 1. */
  unitId?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Fixes the device's variations and noise; default 1. */
  seed?: number;
  /** Milliseconds; tests pass a fake clock to freeze or jump time. Default Date.now. */
  clock?: () => number;
}

export interface SimulatorState {
  readonly kind: SimulatorKind;
  readonly unitId: number;
  readonly map: RegisterMap;
  /** Open Modbus TCP connections. */
  readonly connections: number;
  /** Every point's value as a master reading the registers now would decode it. */
  values(): Record<string, PointValue>;
  value(pointId: string): PointValue;
  /** Raw holding (3) or input (4) registers. */
  registers(fc: 3 | 4, address: number, count: number): number[];
  /** Raw coils (1) or discrete inputs (2). */
  bits(fc: 1 | 2, address: number, count: number): boolean[];
}

export interface RunningSimulator {
  readonly port: number;
  readonly state: SimulatorState;
  stop(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const model = models[opts.kind];
  if (!model) throw new TypeError(`kind: must be one of ${simulatorKinds.join(', ')}`);
  const unitId = opts.unitId ?? 1;
  if (!Number.isInteger(unitId) || unitId < 0 || unitId > 255) throw new TypeError('unitId: must be an integer from 0 to 255');
  const device = new SimulatedDevice(model, opts.seed ?? 1, opts.clock ?? Date.now);
  const server = await listenModbusTcp({ host: opts.host ?? '127.0.0.1', port: opts.port, unitId, model: device });
  const state: SimulatorState = {
    kind: opts.kind,
    unitId,
    map: model.map,
    get connections() {
      return server.connections;
    },
    values: () => device.values(),
    value(pointId) {
      const v = device.values()[pointId];
      if (v === undefined) throw new RangeError(`${opts.kind} has no point ${pointId}`);
      return v;
    },
    registers: (fc, address, count) => device.peekRegisters(fc, address, count),
    bits: (fc, address, count) => device.peekBits(fc, address, count),
  };
  return { port: server.port, state, stop: () => server.close() };
}
