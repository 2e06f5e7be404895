import { EventEmitter } from 'node:events';
import type { DeviceRecord } from './records.js';

/**
 * What the registry tells the rest of the hub. The broker listens to push combine.enable/disable/delete
 * to a gateway when an administrator changes a sub-device over REST, and to close sessions of
 * disabled or deleted devices.
 */
export interface RegistryEvents {
  deviceCreated: [DeviceRecord];
  deviceDeleted: [DeviceRecord];
  deviceEnabled: [DeviceRecord];
  deviceDisabled: [DeviceRecord];
  subDeviceAdded: [gateway: DeviceRecord, sub: DeviceRecord];
  subDeviceRemoved: [gateway: DeviceRecord, sub: DeviceRecord];
}

export class RegistryEventBus extends EventEmitter<RegistryEvents> {}
