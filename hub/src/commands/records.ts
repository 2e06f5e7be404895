import type { OperationStatus, ResultOutcome } from './operation-status.js';

/**
 * The generic command record (docs/ENOS-PROTOCOL.md §4.2, §7.3; docs/DEVICE-MANAGEMENT.md): one
 * record per command per device, whatever the device type. The device type (`deviceType`) owns how
 * the command is rendered and delivered; the core owns queueing, ordering, deadlines and statuses.
 *
 * Lifecycle (`status`):
 *   pending → sent → replied | acknowledged | error | format-error | timeout
 *   sent → notnow → sent …        (a pulled command the device deferred; stays queued)
 *   sent → in-progress → acknowledged | error | timeout
 *   pending → expired | cancelled | repeated
 *   notnow → repeated             (an identical command issued again, wake-and-pull types)
 * `operationStatus` is the device-management (Entgra) view of the same state, stored with it.
 */
export type CommandStatus =
  | 'pending'
  | 'sent'
  | 'replied'
  | 'timeout'
  | 'expired'
  | 'cancelled'
  | 'acknowledged'
  | 'error'
  | 'format-error'
  | 'notnow'
  | 'in-progress'
  | 'repeated';

/** EnOS kinds; other device types use their operation code (e.g. DEVICE_LOCK, DeviceLock). */
export type CommandKind = 'invokeService' | 'setMeasurepoint' | 'getMeasurepoint' | 'operation';

export interface CommandHistoryEntry {
  status: CommandStatus;
  at: number;
  note?: string;
}

export interface CommandRecord {
  commandId: string;
  orgId: string;
  /** The device: an IoT registry assetId, or a device-management device id. */
  assetId: string;
  /** EnOS productKey; for a device-management device its device type. */
  productKey: string;
  /** EnOS deviceKey; for a device-management device its device identifier (e.g. the UDID). */
  deviceKey: string;
  /** The device type that renders and delivers it; absent on records written before types existed = 'enos-mqtt'. */
  deviceType?: string;
  kind: CommandKind;
  /** serviceId, the measurepoint id for setMeasurepoint, the ids (comma separated) for getMeasurepoint, or the operation code. */
  name: string;
  params: Record<string, unknown>;
  createdAt: number;
  /** 0 = instant: delivered now or never. */
  pendingTtlSeconds: number;
  /** When an undelivered (or unanswered pulled) command stops being deliverable (createdAt + ttl). */
  expireAt: number;
  /** How long to wait for the device's reply once sent. */
  timeoutMs: number;
  /** Stored reply deadline of a sent command (sentAt + timeoutMs), swept after a restart too. */
  replyDeadlineAt?: number;
  status: CommandStatus;
  /** The device-management status (Entgra vocabulary), kept in step with `status`. */
  operationStatus?: OperationStatus;
  sentAt?: number;
  /** Cluster: the node that delivered it (its reply timer lives there); requeued if that node dies. */
  sentBy?: string;
  repliedAt?: number;
  /** The device's reply: its code, message and data (the outputData of a service). */
  reply?: { code: number; message?: string; data: unknown };
  /** A device-management result: the mapped outcome and what the device sent with it. */
  result?: { outcome: ResultOutcome; data?: unknown; error?: unknown };
  /** Check-in session in which the device last answered NotNow (not re-sent in that session). */
  notNowSession?: string;
  notNowCount?: number;
  /** The device-management activity (one operation sent to many devices) this belongs to. */
  activityId?: string;
  history: CommandHistoryEntry[];
  createBy: string;
}

/** Statuses a command can still leave. */
export const openStatuses: readonly CommandStatus[] = ['pending', 'sent', 'notnow', 'in-progress'];

/** The device type of a record (records from before device types are EnOS MQTT). */
export const deviceTypeOf = (c: Pick<CommandRecord, 'deviceType'>): string => c.deviceType ?? 'enos-mqtt';

/** The device-management status a lifecycle status shows as. */
export function operationStatusOf(c: Pick<CommandRecord, 'status' | 'reply'>): OperationStatus {
  switch (c.status) {
    case 'pending':
    case 'sent':
      return 'PENDING';
    case 'notnow':
      return 'NOTNOW';
    case 'in-progress':
      return 'IN_PROGRESS';
    case 'replied':
      return c.reply && c.reply.code !== 200 ? 'ERROR' : 'COMPLETED';
    case 'acknowledged':
      return 'COMPLETED';
    case 'error':
    case 'format-error':
    case 'cancelled':
      return 'ERROR';
    case 'timeout':
    case 'expired':
      return 'TIMEOUT';
    case 'repeated':
      return 'REPEATED';
  }
}
