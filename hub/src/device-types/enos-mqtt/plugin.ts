import type { CommandChannel } from '../../commands/channel.js';
import type { DeviceTypePlugin } from '../plugin.js';
import { renderEnos } from './render.js';

import { ENOS_MQTT } from '../../commands/device-type-port.js';

export { ENOS_MQTT };

/**
 * The EnOS MQTT device type (docs/ENOS-PROTOCOL.md §4.2, §7.3): commands are pushed to the device's
 * MQTT session (or its gateway's) and answered on the `_reply` topic. Instant commands wait 1–60 s
 * for their reply; cached ones wait up to 48 h for the device.
 */
export function enosMqttDeviceType(channel: CommandChannel): DeviceTypePlugin {
  return {
    id: ENOS_MQTT,
    delivery: 'push',
    features: [
      { code: 'invokeService', name: 'Invoke a service', description: 'thing.service.<serviceId>' },
      { code: 'setMeasurepoint', name: 'Set a measurepoint', description: 'thing.service.measurepoint.set' },
      { code: 'getMeasurepoint', name: 'Read measurepoints from the device', description: 'thing.service.measurepoint.get' },
    ],
    deadlines: { defaultPendingSeconds: 0, maxPendingSeconds: 172_800, replyTimeoutSeconds: { default: 30, min: 1, max: 60 } },
    render: renderEnos,
    channel,
  };
}
