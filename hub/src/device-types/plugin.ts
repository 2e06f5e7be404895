import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { CommandChannel } from '../commands/channel.js';
import type { ResultOutcome } from '../commands/operation-status.js';
import type { PullQueue } from '../commands/pull-queue.js';
import type { CommandRecord } from '../commands/records.js';
import type { DeviceDirectory } from '../device-management/device-directory.js';
import type { OperationRequest } from '../device-management/device-management.js';
import type { DmCaller } from '../device-management/oauth.js';
import type { PushProvider } from '../push/port.js';

/**
 * A device type plugin (docs/DEVICE-MANAGEMENT.md, "Device types"): everything that differs between
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

/** What the hub hands a plugin when it mounts its routes. */
export interface DeviceTypeContext {
  log: Logger;
  /** The pull side of the command core: next command for a device, and its results. */
  pull: PullQueue;
  /** Device-management devices: enroll, push token, disenroll. */
  devices: DeviceDirectory;
  /** The hub's public base URL (for enrollment profiles). */
  publicBaseUrl: () => string;
  clock: () => number;
}

/** What a plugin's own admin routes use besides the device context: operations become activities. */
export interface DeviceTypeAdminContext extends DeviceTypeContext {
  /** The management REST's `POST /devices/{type}/operations`: one activity, one command per device (201 body). */
  addOperation(caller: DmCaller, type: string, req: OperationRequest): Promise<unknown>;
}

export interface DeviceTypePlugin {
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
  /** 'wake-and-pull' types: the push service that wakes a device. */
  readonly pushProvider?: PushProvider;
  /** Device-facing routes (check-in, command endpoint), mounted at the root of the REST server. */
  routes?(app: FastifyInstance, ctx: DeviceTypeContext): Promise<void>;
  /** Management routes of this type, mounted under /api/device-mgt/v1.0 behind the OAuth2 guard. */
  managementRoutes?(app: FastifyInstance, ctx: DeviceTypeContext): Promise<void>;
  /**
   * Admin routes of this type in Entgra's per-type API (e.g. Android's `…/admin/devices/lock-devices`),
   * mounted under /api/device-mgt/<id>/v1.0 behind the same OAuth2 bearer check, error shape and
   * rate limit as the management REST; each route names its scope with `needs(…)`.
   */
  adminRoutes?(app: FastifyInstance, ctx: DeviceTypeAdminContext): Promise<void>;
  close?(): Promise<void>;
}
