import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { CommandDeviceType } from '../commands/device-type-port.js';
import type { PullQueue } from '../commands/pull-queue.js';
import type { DeviceDirectory } from '../device-management/device-directory.js';
import type { OperationRequest } from '../device-management/device-management.js';
import type { DmCaller } from '../device-management/oauth.js';
import type { PushProvider } from '../push/port.js';

// The core-side half of the contract lives with the command core (docs/ARCHITECTURE.md, "Layers").
export type {
  CommandDeviceType,
  DeadlineBounds,
  DeliveryStyle,
  DeviceCommand,
  DeviceResult,
  DeviceTypeFeature,
  WirePayload,
} from '../commands/device-type-port.js';

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

/**
 * A device type plugin (docs/DEVICE-MANAGEMENT.md, "Device types"): everything that differs between
 * kinds of device. The command core routes each command by its device's type (its half of the
 * contract, `CommandDeviceType`: rendering, delivery style, deadlines, channel); the plugin adds how a
 * device is woken and the routes it speaks.
 */
export interface DeviceTypePlugin extends CommandDeviceType {
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
