/**
 * The generic command record (docs/ENOS-PROTOCOL.md §4.2, §7.3): platform-neutral, so that the mobile
 * device plugins reuse it with their own rendering and delivery channel.
 */
export type CommandStatus = 'pending' | 'sent' | 'replied' | 'timeout' | 'expired' | 'cancelled';

export type CommandKind = 'invokeService' | 'setMeasurepoint';

export interface CommandHistoryEntry {
  status: CommandStatus;
  at: number;
  note?: string;
}

export interface CommandRecord {
  commandId: string;
  orgId: string;
  assetId: string;
  productKey: string;
  deviceKey: string;
  kind: CommandKind;
  /** serviceId, or the measurepoint id for setMeasurepoint. */
  name: string;
  params: Record<string, unknown>;
  createdAt: number;
  /** 0 = instant: delivered now or never. */
  pendingTtlSeconds: number;
  /** When a pending command stops being deliverable (createdAt + ttl). */
  expireAt: number;
  /** How long to wait for the device's reply once sent. */
  timeoutMs: number;
  status: CommandStatus;
  sentAt?: number;
  repliedAt?: number;
  /** The device's reply: its code, message and data (the outputData of a service). */
  reply?: { code: number; message?: string; data: unknown };
  history: CommandHistoryEntry[];
  createBy: string;
}

/** Statuses a command can still leave. */
export const openStatuses: readonly CommandStatus[] = ['pending', 'sent'];
