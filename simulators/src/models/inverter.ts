/**
 * A 10 kW PV inverter. Irradiance follows a ten-minute "day" (so a demo shows it move) with a
 * second-by-second flicker; AC power is what the sun gives, capped by the active-power limit the
 * edge may write. Energy counters integrate AC power.
 */
import type { PointValue, RegisterMap } from '../register-map.js';
import { integrate, type DeviceBehaviour, type DeviceModel } from './model.js';
import { noise, unit } from './noise.js';

const RATED_W = 10_000;
const DAY_S = 600;

export const inverterMap = {
  points: {
    /** W */
    acPower: { fc: 4, address: 0, type: 'uint32', wordOrder: 'BE' },
    /** var; negative when absorbing reactive power */
    reactivePower: { fc: 4, address: 2, type: 'int32', wordOrder: 'LE' },
    /** V */
    dcVoltage: { fc: 4, address: 4, type: 'uint16', scale: 0.1 },
    /** °C, raw 0 = -40 °C as many inverters encode it */
    temperature: { fc: 4, address: 5, type: 'uint16', scale: 0.1, offset: -40 },
    /** kWh, lifetime */
    energyTotal: { fc: 4, address: 6, type: 'uint32', wordOrder: 'LE', scale: 0.01 },
    /** kWh since start-up */
    energyToday: { fc: 4, address: 8, type: 'float32', wordOrder: 'BE' },
    /** % of rated power, 0–100 */
    activePowerLimit: { fc: 3, address: 100, type: 'uint16', scale: 0.1, writable: { fc: 6 } },
  },
} as const satisfies RegisterMap;

export const inverter: DeviceModel = {
  kind: 'inverter',
  map: inverterMap,
  create(seed, startMs): DeviceBehaviour {
    const phase = unit(seed, 0) * 2 * Math.PI;
    const baseKwh = 12_000 + Math.floor(unit(seed, 1) * 1_000);
    let limitPct = 100;
    let energyWh = 0;
    let now = startMs;
    const irradiance = (t: number) =>
      Math.min(1, Math.max(0, 0.6 + 0.35 * Math.sin((2 * Math.PI * t) / DAY_S + phase) + 0.05 * noise(seed, 1, Math.floor(t))));
    const acPower = (t: number) => Math.min(RATED_W * irradiance(t), (RATED_W * limitPct) / 100);
    return {
      advance(nowMs) {
        integrate(now, nowMs, startMs, (dt, t) => (energyWh += (acPower(t) * dt) / 3600));
        now = Math.max(now, nowMs);
      },
      values(): Record<string, PointValue> {
        const t = (now - startMs) / 1000;
        const p = acPower(t);
        return {
          acPower: p,
          reactivePower: 0.2 * p * Math.sin((2 * Math.PI * t) / 120),
          dcVoltage: 580 + 60 * irradiance(t) + 2 * noise(seed, 2, Math.floor(t)),
          temperature: 25 + (20 * p) / RATED_W + 0.5 * noise(seed, 3, Math.floor(t)),
          energyTotal: baseKwh + energyWh / 1000,
          energyToday: energyWh / 1000,
          activePowerLimit: limitPct,
        };
      },
      set(pointId, value) {
        if (pointId !== 'activePowerLimit' || typeof value !== 'number' || value < 0 || value > 100 + 1e-9) return false;
        limitPct = value;
        return true;
      },
    };
  },
};
