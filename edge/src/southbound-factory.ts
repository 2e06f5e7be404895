import type { EdgeConfig, SouthboundDeviceConfig } from './config/types.js';
import type { Southbound } from './proxy/southbound-port.js';
import { checkSouthDevices, createModbusPoller, parseRegisterMap, type PollerOptions, type SouthDevice } from './southbound/index.js';

/** A configured device as the poller runs it (defaults filled in, register map parsed). */
export function toSouthDevice(d: SouthboundDeviceConfig, models: EdgeConfig['southbound']['models']): SouthDevice {
  return {
    id: d.deviceKey,
    transport: d.transport,
    unitId: d.unitId ?? 1,
    pollIntervalMs: d.pollIntervalMs ?? 1000,
    timeoutMs: d.timeoutMs ?? 1000,
    map: parseRegisterMap(models[d.model], `southbound.models.${d.model}`),
  };
}

/**
 * Runs the poller's own checks on a device list (config load, config center bind) so that what
 * passes here also starts: throws a TypeError naming the key, e.g. `southbound.devices[2].unitId`.
 */
export function checkSouthboundDevices(
  devices: SouthboundDeviceConfig[],
  models: EdgeConfig['southbound']['models'],
  prefix = 'southbound.devices',
): void {
  const list = devices.map((d, i) => {
    if (!Object.hasOwn(models, d.model)) throw new TypeError(`${prefix}[${i}].model: no model named "${d.model}" in southbound.models`);
    return toSouthDevice(d, models);
  });
  checkSouthDevices(list, prefix);
}

/** The Modbus southbound for the configured devices (the edge's default SouthboundFactory). */
export function modbusSouthbound(
  devices: SouthboundDeviceConfig[],
  southbound: Pick<EdgeConfig['southbound'], 'models' | 'reconnectMinMs' | 'reconnectMaxMs'>,
): Southbound {
  const options: PollerOptions = { reconnect: { initialMs: southbound.reconnectMinMs, maxMs: southbound.reconnectMaxMs } };
  const poller = createModbusPoller(
    devices.map((d) => toSouthDevice(d, southbound.models)),
    options,
  );
  return {
    on: (event: 'reading' | 'state', listener: (x: never) => void) => poller.on(event, listener as never),
    async write(deviceId, pointId, value) {
      if (typeof value !== 'number' && typeof value !== 'boolean')
        throw new Error(`${pointId}: a Modbus point takes a number or a boolean`);
      await poller.write(deviceId, pointId, value);
    },
    stop: () => poller.stop(),
  };
}
