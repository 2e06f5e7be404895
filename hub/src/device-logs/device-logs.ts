import { randomUUID } from 'node:crypto';
import type { Collection, CollectionSpec, Filter } from '../store/port.js';
import type { DeviceIdentity } from '../sessions/sessions.js';

/**
 * What devices report about themselves (docs/PROTOCOL.md §7.2):
 * `thing.log.post` lines and `network.status.report` snapshots, kept per device, bounded in count
 * and in age, read back over REST.
 */
export type DeviceLogKind = 'log' | 'network';
export const logLevels = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface DeviceLogRecord {
  logId: string;
  orgId: string;
  assetId: string;
  kind: DeviceLogKind;
  /** When the device says it happened (epoch ms); `receivedAt` when it said nothing. */
  time: number;
  receivedAt: number;
  level?: LogLevel;
  module?: string;
  content?: string;
  /** A network status report as sent (a flat object). */
  status?: Record<string, unknown>;
}

export type NewDeviceLog = Omit<DeviceLogRecord, 'logId' | 'orgId' | 'assetId' | 'receivedAt'>;

export const deviceLogsSpec: CollectionSpec = { name: 'deviceLogs', key: 'logId', indexes: ['assetId', 'time'] };

export interface DeviceLogLimits {
  /** Entries kept per device and kind; the oldest go first. */
  maxPerDevice: number;
  /** Entries older than this are pruned (0 = kept until the count bound removes them). */
  retentionMs: number;
}

export interface DeviceLogQuery {
  assetId: string;
  kind?: DeviceLogKind;
  level?: LogLevel;
  startTime?: number;
  endTime?: number;
  limit: number;
}

export class DeviceLogs {
  constructor(
    private readonly records: Collection<DeviceLogRecord>,
    readonly limits: DeviceLogLimits,
    private readonly clock: () => number = Date.now,
  ) {}

  async append(device: DeviceIdentity, entries: NewDeviceLog[]): Promise<void> {
    if (entries.length === 0) return;
    const receivedAt = this.clock();
    await this.records.insertMany(
      entries.map((e) => ({ ...e, logId: randomUUID(), orgId: device.orgId, assetId: device.assetId, receivedAt })),
    );
    await this.trim(device.assetId, entries[0]!.kind);
  }

  /** Newest first. */
  async query(q: DeviceLogQuery): Promise<DeviceLogRecord[]> {
    const and: Filter[] = [{ assetId: q.assetId }];
    if (q.kind) and.push({ kind: q.kind });
    if (q.level) and.push({ level: q.level });
    if (q.startTime !== undefined) and.push({ time: { $gte: q.startTime } });
    if (q.endTime !== undefined) and.push({ time: { $lt: q.endTime } });
    if (this.limits.retentionMs > 0) and.push({ receivedAt: { $gte: this.clock() - this.limits.retentionMs } });
    const found = await this.records.find(
      { $and: and },
      {
        sort: [
          { field: 'time', order: 'DESC' },
          { field: 'receivedAt', order: 'DESC' },
        ],
        limit: q.limit,
      },
    );
    return found.items;
  }

  /** Deletes entries past the retention; resolves with how many. */
  async prune(): Promise<number> {
    if (this.limits.retentionMs <= 0) return 0;
    let removed = 0;
    for (;;) {
      const old = await this.records.find({ receivedAt: { $lt: this.clock() - this.limits.retentionMs } }, { limit: 1000 });
      for (const r of old.items) if (await this.records.delete(r.logId)) removed++;
      if (old.items.length < 1000) return removed;
    }
  }

  /** Keeps at most `maxPerDevice` entries of a kind for a device, dropping the oldest received. */
  private async trim(assetId: string, kind: DeviceLogKind): Promise<void> {
    const filter = { assetId, kind };
    const n = await this.records.count(filter);
    const excess = n - this.limits.maxPerDevice;
    if (excess <= 0) return;
    const oldest = await this.records.find(filter, {
      sort: [
        { field: 'receivedAt', order: 'ASC' },
        { field: 'time', order: 'ASC' },
      ],
      limit: excess,
    });
    for (const r of oldest.items) await this.records.delete(r.logId);
  }
}

/** Prunes expired device logs every interval (first run right after start); never keeps the process alive. */
export function startDeviceLogRetention(logs: DeviceLogs, intervalMs: number, onError: (err: unknown) => void): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const run = () => {
    running ??= logs
      .prune()
      .catch(onError)
      .finally(() => (running = undefined));
  };
  const first = setTimeout(run, 0);
  const timer = setInterval(run, intervalMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
