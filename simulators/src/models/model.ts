/** What a simulated device model provides: its register map and its physics. */
import type { PointValue, RegisterMap } from '../register-map.js';

export type SimulatorKind = 'inverter' | 'fan' | 'energy-storage';

export interface DeviceModel {
  readonly kind: SimulatorKind;
  /** The device's datasheet in the edge's register-map format. */
  readonly map: RegisterMap;
  /** A fresh device whose clock starts at `startMs`. */
  create(seed: number, startMs: number): DeviceBehaviour;
}

export interface DeviceBehaviour {
  /** Moves the device's physics forward to `nowMs` (never backwards). */
  advance(nowMs: number): void;
  /** Engineering value of every point in the map, setpoints included. */
  values(): Record<string, PointValue>;
  /**
   * Applies a setpoint written over Modbus. Returns false for a value the device refuses
   * (answered with exception 3, illegal data value); the setpoint is then unchanged.
   */
  set(pointId: string, value: PointValue): boolean;
}

/**
 * Integrates `step(dtSeconds, tSeconds)` from `fromMs` to `toMs` in steps of at most one second,
 * so a device asked rarely (or a test that jumps its clock by hours) follows the same trajectory
 * as one polled every second. Very long jumps use coarser steps to stay bounded.
 */
export function integrate(fromMs: number, toMs: number, startMs: number, step: (dt: number, t: number) => void): void {
  const span = toMs - fromMs;
  if (span <= 0) return;
  const steps = Math.min(Math.ceil(span / 1000), 100_000);
  const dtMs = span / steps;
  for (let i = 1; i <= steps; i++) step(dtMs / 1000, (fromMs + i * dtMs - startMs) / 1000);
}
