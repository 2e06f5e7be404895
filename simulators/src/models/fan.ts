/**
 * A reversible ventilation fan: speed follows the written setpoint with a first-order lag while the
 * running coil is on, and spins down when it is off. Negative rpm is reverse rotation.
 */
import type { PointValue, RegisterMap } from '../register-map.js';
import { integrate, type DeviceBehaviour, type DeviceModel } from './model.js';
import { noise } from './noise.js';

const TIME_CONSTANT_S = 3;
const MAX_RPM = 3000;

export const fanMap = {
  points: {
    /** rpm */
    speed: { fc: 4, address: 0, type: 'int16' },
    /** rpm, -3000–3000 */
    speedSetpoint: { fc: 3, address: 0, type: 'int16', writable: { fc: 6 } },
    running: { fc: 1, address: 0, type: 'bool', writable: { fc: 5 } },
  },
} as const satisfies RegisterMap;

export const fan: DeviceModel = {
  kind: 'fan',
  map: fanMap,
  create(seed, startMs): DeviceBehaviour {
    let setpoint = 1200;
    let running = true;
    // Starts at its default setpoint, as if it had been running before the edge came up.
    let speed = setpoint;
    let now = startMs;
    return {
      advance(nowMs) {
        integrate(now, nowMs, startMs, (dt) => {
          const target = running ? setpoint : 0;
          speed += (target - speed) * (1 - Math.exp(-dt / TIME_CONSTANT_S));
        });
        now = Math.max(now, nowMs);
      },
      values(): Record<string, PointValue> {
        const t = (now - startMs) / 1000;
        // A few rpm of ripple while turning; a stopped fan reads a clean zero.
        const ripple = Math.abs(speed) > 1 ? 3 * noise(seed, 1, Math.floor(t)) : 0;
        return { speed: speed + ripple, speedSetpoint: setpoint, running };
      },
      set(pointId, value) {
        if (pointId === 'running' && typeof value === 'boolean') {
          running = value;
          return true;
        }
        if (pointId === 'speedSetpoint' && typeof value === 'number' && Math.abs(value) <= MAX_RPM) {
          setpoint = value;
          return true;
        }
        return false;
      },
    };
  },
};
