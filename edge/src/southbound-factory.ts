import type { EdgeConfig, SouthboundDeviceConfig } from './config/types.js';
import type { Southbound } from './proxy/southbound-port.js';
import { createModbusPoller, parseRegisterMap, type SouthTransport } from './southbound/index.js';

/** The Modbus southbound for the configured devices (the edge's default SouthboundFactory). */
export function modbusSouthbound(devices: SouthboundDeviceConfig[], models: EdgeConfig['southbound']['models']): Southbound {
  const poller = createModbusPoller(
    devices.map((d) => ({
      id: d.deviceKey,
      transport: d.transport as SouthTransport,
      unitId: d.unitId ?? 1,
      pollIntervalMs: d.pollIntervalMs ?? 1000,
      timeoutMs: d.timeoutMs ?? 1000,
      map: parseRegisterMap(models[d.model], `southbound.models.${d.model}`),
    })),
  );
  return {
    on: ((event: 'reading' | 'state', listener: (x: never) => void) => poller.on(event as never, listener as never)) as Southbound['on'],
    async write(deviceId, pointId, value) {
      if (typeof value !== 'number' && typeof value !== 'boolean') throw new Error(`${pointId}: a Modbus point takes a number or a boolean`);
      await poller.write(deviceId, pointId, value);
    },
    stop: () => poller.stop(),
  };
}
