import type { CommandChannel } from './channel.js';
import type { ResultOutcome } from './operation-status.js';
import type { CommandRecord } from './records.js';

/** The device type of MQTT devices of the IoT registry (and of commands stored before types existed). */
export const ENOS_MQTT = 'enos-mqtt';

/**
 * The device-type port of the command core (docs/DEVICE-MANAGEMENT.md, "Device types"): everything that differs between
 * kinds of device. The command core routes each command by its device's type: the plugin renders
 * it to its wire form and says how it reaches the device; the core owns the queue, the order, the
 * deadlines and the stored statuses.
 *
 * Two delivery styles:
 *   'push'           the core hands the rendered command to `channel` (EnOS over MQTT);
 *   'wake-and-pull'  the core queues the command and a wake-up through `pushProvider`; the device
 *                    checks in and the plugin's routes call `PullQueue.nextCommand` / `report`.
 */
export type DeliveryStyle = 'push' | 'wake-and-pull';

/** An operation a device type supports (Entgra "feature"). */
export interface DeviceTypeFeature {
  /** Operation code as used in the management REST, e.g. DEVICE_LOCK. */
  code: string;
  name: string;
  description?: string;
}

/** How long commands of this type may wait: per-type bounds for the stored deadlines. */
export interface DeadlineBounds {
  /** Default lifetime of a queued command when the caller names none. */
  defaultPendingSeconds: number;
  /** Longest lifetime accepted (EnOS: 172,800 s; an MDM command may wait weeks). */
  maxPendingSeconds: number;
  /** Wait for a device's answer once delivered: default and accepted range. */
  replyTimeoutSeconds: { default: number; min: number; max: number };
}

/** The wire form of a command: whatever the device type's channel or check-in route sends. */
export type WirePayload = unknown;

/** What a device type receives to render: the stored command. */
export type DeviceCommand = Readonly<CommandRecord>;

/** A device's answer mapped to the core's vocabulary (plus what the device sent with it). */
export interface DeviceResult {
  commandId: string;
  outcome: ResultOutcome;
  /** Command-specific response data (e.g. QueryResponses), stored with the result. */
  data?: unknown;
  /** The device's error detail (e.g. Apple ErrorChain), stored with the result. */
  error?: unknown;
}

/**
 * What the command core needs of a device type (the device-type plugin in `device-types/` extends it
 * with its routes and push provider): the core sits below the plugins and knows them only by this port.
 */
export interface CommandDeviceType {
  /** 'enos-mqtt', 'ios', 'android', 'windows'. */
  readonly id: string;
  readonly features: readonly DeviceTypeFeature[];
  readonly delivery: DeliveryStyle;
  readonly deadlines: DeadlineBounds;
  /**
   * Turns a stored command into its wire form. Throws when the command cannot be expressed
   * (unknown operation code, bad params): called at issue time too, so such a command is refused
   * before it is stored. May be async (e.g. to read a token kept with the enrollment).
   */
  render(command: DeviceCommand): WirePayload | Promise<WirePayload>;
  /** 'push' types: the channel the core hands rendered commands to. */
  readonly channel?: CommandChannel;
}

/** The device types that are on, as the core and the device-management domain look them up. */
export interface CommandDeviceTypes {
  get(id: string): CommandDeviceType | undefined;
  has(id: string): boolean;
  /** Throws for an unknown or disabled type (a wiring error). */
  require(id: string): CommandDeviceType;
  list(): CommandDeviceType[];
}
