import { EventEmitter } from 'node:events';
import { EnosError, codes, newCommandId, topics } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { Collection, Filter, FindOptions } from '../store/port.js';
import type { CommandChannel, CommandReply } from './channel.js';
import type { CommandKind, CommandRecord, CommandStatus } from './records.js';

export interface CommandLimits {
  /** Cached commands waiting or in flight per device (EnOS: 50, 11902 beyond). */
  maxPendingPerDevice: number;
  /** Longest pendingTtl (EnOS: 172800 s). */
  maxPendingTtlSeconds: number;
  /** Finished commands are kept this long (EnOS: 7 days). */
  historyRetentionMs: number;
  /** How often expired pending commands and old history are swept. */
  sweepIntervalMs: number;
}

export const defaultCommandLimits: CommandLimits = {
  maxPendingPerDevice: 50,
  maxPendingTtlSeconds: 172_800,
  historyRetentionMs: 7 * 86_400_000,
  sweepIntervalMs: 60_000,
};

export interface CommandTarget {
  orgId: string;
  assetId: string;
  productKey: string;
  deviceKey: string;
}

export interface IssueCommand {
  target: CommandTarget;
  kind: CommandKind;
  name: string;
  params: Record<string, unknown>;
  pendingTtlSeconds: number;
  timeoutMs: number;
  by: string;
}

interface InFlight {
  commandId: string;
  timer: NodeJS.Timeout;
  done: (reply: CommandReply | undefined) => void;
}

/**
 * The command core (docs/ENOS-PROTOCOL.md §4.2 notes, §7.3): instant commands are delivered now or fail
 * with 11900 and wait up to their timeout for the reply (11915); cached commands wait in a queue
 * per device (≤ 50, 11902) and are delivered in order when the device is reachable, the next one
 * only after the previous reply or timeout. Platform-neutral: rendering and delivery live behind
 * the CommandChannel.
 */
export class CommandCore extends EventEmitter<{ status: [CommandRecord] }> {
  /** The cached command in flight per device (`pk/dk`): one at a time. */
  private readonly inFlight = new Map<string, InFlight>();
  /** Instant commands waiting for their reply, by command id. */
  private readonly waiters = new Map<string, InFlight>();
  private readonly kicking = new Map<string, Promise<void>>();
  private readonly unsubscribe: (() => void)[] = [];
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    private readonly commands: Collection<CommandRecord>,
    private readonly channel: CommandChannel,
    private readonly log: Logger,
    private readonly limits: CommandLimits = defaultCommandLimits,
    private readonly clock: () => number = Date.now,
    private readonly metrics?: { commandOutcomes: { inc(labels: { status: string }): void } },
  ) {
    super();
  }

  /** Subscribes to replies and reachability; commands left "sent" by a previous run timed out. */
  async start(): Promise<void> {
    this.unsubscribe.push(this.channel.onReply((r) => this.onReply(r)));
    this.unsubscribe.push(this.channel.onReachable((pk, dk) => void this.kick(pk, dk)));
    const orphaned = await this.commands.find({ status: 'sent' }, { limit: 10_000 });
    for (const c of orphaned.items) await this.finish(c.commandId, 'timeout', undefined, 'the hub restarted while waiting for the reply');
    this.sweepTimer = setInterval(() => void this.sweep().catch((err: unknown) => this.log.error({ err }, 'command sweep failed')), this.limits.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const f of [...this.inFlight.values(), ...this.waiters.values()]) {
      clearTimeout(f.timer);
      f.done(undefined);
    }
    await Promise.all([...this.kicking.values()]);
  }

  /**
   * Issues a command. Instant: resolves with the finished record (replied) or throws 11900/11915.
   * Cached: resolves with the pending record at once.
   */
  async issue(cmd: IssueCommand): Promise<CommandRecord> {
    if (cmd.pendingTtlSeconds < 0 || cmd.pendingTtlSeconds > this.limits.maxPendingTtlSeconds) {
      throw new EnosError(codes.invalidArgument, `Invalid Argument pendingTtl: from 0 to ${this.limits.maxPendingTtlSeconds} seconds`);
    }
    const now = this.clock();
    const record: CommandRecord = {
      commandId: newCommandId(now),
      orgId: cmd.target.orgId,
      assetId: cmd.target.assetId,
      productKey: cmd.target.productKey,
      deviceKey: cmd.target.deviceKey,
      kind: cmd.kind,
      name: cmd.name,
      params: cmd.params,
      createdAt: now,
      pendingTtlSeconds: cmd.pendingTtlSeconds,
      expireAt: now + cmd.pendingTtlSeconds * 1000,
      timeoutMs: cmd.timeoutMs,
      status: 'pending',
      history: [{ status: 'pending', at: now }],
      createBy: cmd.by,
    };
    return cmd.pendingTtlSeconds === 0 ? this.instant(record) : this.cached(record);
  }

  async get(orgId: string, commandId: string): Promise<CommandRecord> {
    const c = await this.commands.get(commandId);
    if (!c || c.orgId !== orgId) throw new EnosError(codes.notFound, `Command ${commandId} not found`);
    return c;
  }

  /** Cached commands waiting or in flight, all devices (a metric). */
  queueDepth(): Promise<number> {
    return this.commands.count({ status: { $in: ['pending', 'sent'] }, pendingTtlSeconds: { $gt: 0 } });
  }

  search(orgId: string, filter: Filter, options: FindOptions) {
    return this.commands.find({ $and: [{ orgId }, filter] }, options);
  }

  /** Cancels a command that has not been sent yet. */
  async cancel(orgId: string, commandId: string): Promise<CommandRecord> {
    const c = await this.get(orgId, commandId);
    const now = this.clock();
    const updated = await this.commands.update(commandId, { status: 'cancelled', history: [...c.history, { status: 'cancelled', at: now }] }, { status: 'pending', orgId });
    if (!updated) throw new EnosError(codes.invalidArgument, `Invalid Argument commandId: command ${commandId} is ${(await this.get(orgId, commandId)).status}, only pending commands can be cancelled`);
    return updated;
  }

  private async instant(record: CommandRecord): Promise<CommandRecord> {
    const { productKey, deviceKey } = record;
    if (!(await this.channel.isReachable(productKey, deviceKey))) throw new EnosError(codes.deviceOffline, `Device ${record.assetId} is offline`);
    await this.commands.insert(record);
    const reply = new Promise<CommandReply | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(record.commandId);
        resolve(undefined);
      }, record.timeoutMs);
      this.waiters.set(record.commandId, { commandId: record.commandId, timer, done: resolve });
    });
    if (!(await this.deliver(record))) {
      const w = this.waiters.get(record.commandId);
      if (w) clearTimeout(w.timer);
      this.waiters.delete(record.commandId);
      await this.finish(record.commandId, 'expired', undefined, 'device went offline before delivery');
      throw new EnosError(codes.deviceOffline, `Device ${record.assetId} is offline`);
    }
    const r = await reply;
    if (!r) {
      await this.finish(record.commandId, 'timeout');
      throw new EnosError(codes.commandReplyTimeout, `No reply from device ${record.assetId} within ${record.timeoutMs / 1000} s (commandId ${record.commandId})`);
    }
    return this.finish(record.commandId, 'replied', r);
  }

  private async cached(record: CommandRecord): Promise<CommandRecord> {
    const open = await this.commands.count({ assetId: record.assetId, status: { $in: ['pending', 'sent'] }, pendingTtlSeconds: { $gt: 0 } });
    if (open >= this.limits.maxPendingPerDevice) {
      throw new EnosError(codes.commandCacheFull, `Device ${record.assetId} already has ${open} cached commands`);
    }
    await this.commands.insert(record);
    void this.kick(record.productKey, record.deviceKey);
    return record;
  }

  /** Delivers the device's next cached command if none is in flight; serialized per device. */
  kick(productKey: string, deviceKey: string): Promise<void> {
    const key = `${productKey}/${deviceKey}`;
    const running = this.kicking.get(key);
    if (running) return running.then(() => this.kick(productKey, deviceKey));
    const p = this.deliverNext(productKey, deviceKey)
      .catch((err: unknown) => this.log.error({ err, productKey, deviceKey }, 'cached command delivery failed'))
      .finally(() => this.kicking.delete(key));
    this.kicking.set(key, p);
    return p;
  }

  private async deliverNext(productKey: string, deviceKey: string): Promise<void> {
    const key = `${productKey}/${deviceKey}`;
    for (;;) {
      if (this.inFlight.has(key)) return;
      const next = (
        // Instant commands (ttl 0) are owned by their caller and never wait in this queue.
        await this.commands.find(
          { productKey, deviceKey, status: 'pending', pendingTtlSeconds: { $gt: 0 } },
          { sort: [{ field: 'createdAt', order: 'ASC' }, { field: 'commandId', order: 'ASC' }], limit: 1 },
        )
      ).items[0];
      if (!next) return;
      if (next.expireAt <= this.clock()) {
        await this.finish(next.commandId, 'expired');
        continue;
      }
      if (this.channel.queueHolder) {
        // One command in flight per device, cluster-wide: the node holding the session runs the queue.
        const holder = await this.channel.queueHolder(productKey, deviceKey);
        if (holder === undefined) return;
        if (holder !== 'here') return this.channel.forwardKick?.(holder, productKey, deviceKey);
      } else if (!(await this.channel.isReachable(productKey, deviceKey))) {
        return;
      }
      const timer = setTimeout(() => this.settleInFlight(key, next.commandId, undefined), next.timeoutMs);
      this.inFlight.set(key, { commandId: next.commandId, timer, done: () => undefined });
      if (!(await this.deliver(next))) {
        clearTimeout(timer);
        this.inFlight.delete(key);
        // stays pending: delivered when the device is reachable again
        await this.revertToPending(next.commandId);
        return;
      }
      return;
    }
  }

  private settleInFlight(key: string, commandId: string, reply: CommandReply | undefined): void {
    const f = this.inFlight.get(key);
    if (!f || f.commandId !== commandId) return;
    clearTimeout(f.timer);
    this.inFlight.delete(key);
    const [productKey, deviceKey] = key.split('/') as [string, string];
    void this.finish(commandId, reply ? 'replied' : 'timeout', reply)
      .catch((err: unknown) => this.log.error({ err, commandId }, 'command update failed'))
      .then(() => this.kick(productKey, deviceKey));
  }

  private onReply(r: CommandReply): void {
    const waiter = this.waiters.get(r.commandId);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters.delete(r.commandId);
      waiter.done(r);
      return;
    }
    this.settleInFlight(`${r.productKey}/${r.deviceKey}`, r.commandId, r);
  }

  /** Marks the command sent and hands it to the channel. */
  private async deliver(c: CommandRecord): Promise<boolean> {
    const now = this.clock();
    await this.commands.update(c.commandId, { status: 'sent', sentAt: now, history: [...c.history, { status: 'sent', at: now }] });
    this.metrics?.commandOutcomes.inc({ status: 'sent' });
    const { topic, message } = render(c);
    return this.channel.send(c.productKey, c.deviceKey, topic, message);
  }

  private async revertToPending(commandId: string): Promise<void> {
    const c = await this.commands.get(commandId);
    if (c) await this.commands.update(commandId, { status: 'pending', history: [...c.history, { status: 'pending', at: this.clock(), note: 'not delivered: device unreachable' }] }, { status: 'sent' });
  }

  private async finish(commandId: string, status: CommandStatus, reply?: CommandReply, note?: string): Promise<CommandRecord> {
    const c = await this.commands.get(commandId);
    if (!c) throw new EnosError(codes.notFound, `Command ${commandId} not found`);
    const now = this.clock();
    this.metrics?.commandOutcomes.inc({ status });
    const set: Partial<CommandRecord> = { status, history: [...c.history, note ? { status, at: now, note } : { status, at: now }] };
    if (reply) {
      set.repliedAt = now;
      set.reply = reply.message !== undefined ? { code: reply.code, message: reply.message, data: reply.data } : { code: reply.code, data: reply.data };
    }
    const updated = (await this.commands.update(commandId, set)) ?? c;
    this.emit('status', updated);
    return updated;
  }

  private async sweep(): Promise<void> {
    const now = this.clock();
    const expired = await this.commands.find({ status: 'pending', pendingTtlSeconds: { $gt: 0 }, expireAt: { $lte: now } }, { limit: 1000 });
    for (const c of expired.items) await this.finish(c.commandId, 'expired');
    const old = await this.commands.find({ status: { $in: ['replied', 'timeout', 'expired', 'cancelled'] }, createdAt: { $lt: now - this.limits.historyRetentionMs } }, { limit: 1000 });
    for (const c of old.items) await this.commands.delete(c.commandId);
  }
}

/** The EnOS downstream message of a command (docs/ENOS-PROTOCOL.md §4.2, §9.4). */
export function render(c: CommandRecord): { topic: string; message: unknown } {
  if (c.kind === 'setMeasurepoint') {
    return {
      topic: topics.measurepointSet(c.productKey, c.deviceKey),
      message: { id: c.commandId, version: '1.0', method: 'thing.service.measurepoint.set', params: c.params },
    };
  }
  return {
    topic: topics.serviceInvoke(c.productKey, c.deviceKey, c.name),
    message: { id: c.commandId, version: '1.0', method: `thing.service.${c.name}`, params: c.params },
  };
}
