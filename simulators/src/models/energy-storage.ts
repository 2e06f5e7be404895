/**
 * A 20 kWh battery. The written mode selects idle, charge or discharge at about 5 kW; the state of
 * charge integrates the power, which stops at the 5 % / 95 % limits, where the alarm input rises.
 * The enable coil is a contactor: off means no power whatever the mode.
 */
import type { PointValue, RegisterMap } from '../register-map.js';
import { integrate, type DeviceBehaviour, type DeviceModel } from './model.js';
import { noise, unit } from './noise.js';

const CAPACITY_WH = 20_000;
const NOMINAL_W = 5_000;
const SOC_MIN = 5;
const SOC_MAX = 95;

export const storageMode = { idle: 0, charge: 1, discharge: 2 } as const;

export const energyStorageMap = {
  points: {
    /** % */
    soc: { fc: 4, address: 0, type: 'float32', wordOrder: 'LE' },
    /** kW; positive discharging, negative charging */
    power: { fc: 4, address: 2, type: 'int32', wordOrder: 'BE', scale: 0.001 },
    /** 0 idle, 1 charge, 2 discharge */
    mode: { fc: 3, address: 0, type: 'uint16', writable: { fc: 16 } },
    enabled: { fc: 1, address: 0, type: 'bool', writable: { fc: 15 } },
    /** state of charge at a limit */
    alarm: { fc: 2, address: 0, type: 'bool' },
  },
} as const satisfies RegisterMap;

export const energyStorage: DeviceModel = {
  kind: 'energy-storage',
  map: energyStorageMap,
  create(seed, startMs): DeviceBehaviour {
    let soc = 50 + 10 * unit(seed, 0);
    let mode: number = storageMode.discharge;
    let enabled = true;
    let now = startMs;
    /** W, positive discharging. */
    const power = (t: number) => {
      if (!enabled) return 0;
      const magnitude = NOMINAL_W + 200 * noise(seed, 1, Math.floor(t));
      if (mode === storageMode.discharge && soc > SOC_MIN) return magnitude;
      if (mode === storageMode.charge && soc < SOC_MAX) return -magnitude;
      return 0;
    };
    return {
      advance(nowMs) {
        integrate(now, nowMs, startMs, (dt, t) => {
          soc = Math.min(SOC_MAX, Math.max(SOC_MIN, soc - (((power(t) * dt) / 3600) * 100) / CAPACITY_WH));
        });
        now = Math.max(now, nowMs);
      },
      values(): Record<string, PointValue> {
        const t = (now - startMs) / 1000;
        return {
          soc,
          power: power(t) / 1000,
          mode,
          enabled,
          alarm: soc <= SOC_MIN || soc >= SOC_MAX,
        };
      },
      set(pointId, value) {
        if (pointId === 'enabled' && typeof value === 'boolean') {
          enabled = value;
          return true;
        }
        if (pointId === 'mode' && (value === 0 || value === 1 || value === 2)) {
          mode = value;
          return true;
        }
        return false;
      },
    };
  },
};
