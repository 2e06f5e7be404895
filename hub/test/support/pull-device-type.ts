import type { DeviceTypePlugin } from '../../src/device-types/plugin.js';
import type { PushProvider } from '../../src/push/port.js';

/**
 * A minimal 'wake-and-pull' device type for core tests: renders a command as JSON, knows
 * DEVICE_LOCK and DEVICE_INFO, and refuses anything else (as a real plugin refuses an unknown code).
 */
export function jsonPullDeviceType(id = 'json-pull', pushProvider?: PushProvider): DeviceTypePlugin {
  return {
    id,
    ...(pushProvider ? { pushProvider } : {}),
    delivery: 'wake-and-pull',
    features: [
      { code: 'DEVICE_LOCK', name: 'Lock' },
      { code: 'DEVICE_INFO', name: 'Info' },
    ],
    deadlines: {
      defaultPendingSeconds: 7 * 86_400,
      maxPendingSeconds: 30 * 86_400,
      replyTimeoutSeconds: { default: 3600, min: 1, max: 86_400 },
    },
    render(c) {
      if (c.name !== 'DEVICE_LOCK' && c.name !== 'DEVICE_INFO') throw new Error(`unknown operation ${c.name}`);
      return JSON.stringify({ id: c.commandId, code: c.name, payload: c.params });
    },
  };
}
