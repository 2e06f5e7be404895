import type { Logger } from 'pino';
import type { CertificateOperations } from '@edgehub/certificate-service';
import type { CommandChannel } from '../commands/channel.js';
import type { Store } from '../store/port.js';
import { enosMqttDeviceType, ENOS_MQTT } from './enos-mqtt/plugin.js';
import { createAndroidDeviceType } from './android/device-type.js';
import { createIosDeviceType } from './ios/device-type.js';
import type { DeviceTypePlugin } from './plugin.js';
import { createWindowsDeviceType } from './windows/device-type.js';

/** What a device type's factory may use when the hub builds it at start-up. */
export interface DeviceTypeDeps {
  log: Logger;
  clock: () => number;
  dataDir: string;
  /** For a plugin's own collections (e.g. certificate pins, push certificates). */
  store: Store;
  /** The MQTT command channel (local or cluster-wide). */
  mqttChannel: CommandChannel;
  /** The hub's certificate service, when on (device identity certificates). */
  certificates?: CertificateOperations;
  /** The process environment, for a plugin's own settings (documented with the plugin in docs/DEVICE-MANAGEMENT.md). */
  env: Record<string, string | undefined>;
}

export type DeviceTypeFactory = (deps: DeviceTypeDeps) => DeviceTypePlugin | Promise<DeviceTypePlugin>;

/**
 * Every device type the hub knows (docs/DEVICE-MANAGEMENT.md, "Device types"). HUB_DEVICE_TYPES
 * picks which are on; a plugin is registered by adding its factory here.
 */
export const deviceTypeFactories: Record<string, DeviceTypeFactory> = {
  [ENOS_MQTT]: (deps) => enosMqttDeviceType(deps.mqttChannel),
  ios: (deps) => createIosDeviceType(deps),
  android: (deps) => createAndroidDeviceType(deps),
  windows: (deps) => createWindowsDeviceType(deps),
};

/** The device types that are on, by id. */
export class DeviceTypes {
  private readonly byId = new Map<string, DeviceTypePlugin>();

  constructor(plugins: Iterable<DeviceTypePlugin>) {
    for (const p of plugins) {
      if (this.byId.has(p.id)) throw new Error(`device type ${p.id} registered twice`);
      if (p.delivery === 'push' && !p.channel) throw new Error(`device type ${p.id} delivers by push but has no channel`);
      this.byId.set(p.id, p);
    }
  }

  get(id: string): DeviceTypePlugin | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The plugin of a type that is on; throws for an unknown or disabled type (a wiring error). */
  require(id: string): DeviceTypePlugin {
    const p = this.byId.get(id);
    if (!p) throw new Error(`device type ${id} is not enabled`);
    return p;
  }

  list(): DeviceTypePlugin[] {
    return [...this.byId.values()];
  }

  async close(): Promise<void> {
    for (const p of this.byId.values()) {
      await p.close?.();
      await p.pushProvider?.close?.();
    }
  }
}

/** Builds the enabled device types; an unknown id in the list is a configuration error. */
export async function loadDeviceTypes(
  enabled: readonly string[],
  deps: DeviceTypeDeps,
  factories: Record<string, DeviceTypeFactory> = deviceTypeFactories,
): Promise<DeviceTypes> {
  const plugins: DeviceTypePlugin[] = [];
  for (const id of enabled) {
    const factory = factories[id];
    if (!factory) throw new Error(`HUB_DEVICE_TYPES: unknown device type ${id} (known: ${Object.keys(factories).join(', ')})`);
    plugins.push(await factory(deps));
  }
  return new DeviceTypes(plugins);
}
