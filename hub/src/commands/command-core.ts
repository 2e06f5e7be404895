import { EventEmitter } from 'node:events';
import { EnosError, codes, newCommandId } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { CommandDeviceType, CommandDeviceTypes } from './device-type-port.js';
import type { Collection, Filter, FindOptions } from '../store/port.js';
import type { CommandChannel, CommandReply } from './channel.js';
import { PendingWork } from './pending-work.js';
import { PullQueue } from './pull-queue.js';
import { deviceTypeOf, operationStatusOf, type CommandKind, type CommandRecord, type CommandStatus } from './records.js';

/** JSON with object keys sorted: two parameter sets are identical when their canonical texts are. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

export interface CommandLimits {
  /** Cached commands waiting or in flight per device (EnOS: 50, 11902 beyond). */
  maxPendingPerDevice: number;
  /** Finished commands are kept this long (EnOS: 7 days). */
  historyRetentionMs: number;
  /** How often expired pending commands and old history are swept. */
  sweepIntervalMs: number;
}

export const defaultCommandLimits: CommandLimits = {
  maxPendingPerDevice: 50,
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
  /** The device type that renders and delivers it (default 'enos-mqtt'). */
  deviceType?: string;
  /** The device-management activity it belongs to, if any. */
  activityId?: string;
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

/** Called when a command for a 'wake-and-pull' device is queued: wake the device (push queue). */
export type Waker = (c: CommandRecord) => Promise<void>;

/**
 * The command core, one for every device type (docs/ENOS-PROTOCOL.md §4.2 notes, §7.3;
 * docs/DEVICE-MANAGEMENT.md, "Command core"). Each command is routed by its device's type: the
 * type renders it and says how it travels.
 * - 'push' types (EnOS MQTT): instant commands are delivered now or fail with 11900 and wait up to
 *   their timeout for the reply (11915); cached commands wait in a queue per device (≤ 50, 11902)
 *   and are delivered in order when the device is reachable, the next one only after the previous
 *   reply or timeout.
 * - 'wake-and-pull' types (APNs, FCM, WNS): a command is queued and a wake-up requested; the
 *   device pulls its commands in order through `pull` (PullQueue) and reports each result.
 * Deadlines are stored with the command (expireAt, replyDeadlineAt) and swept, so they survive a
 * restart; their bounds are per device type.
 */
export class CommandCore extends EventEmitter<{ status: [CommandRecord] }> {
  /** The pull side: next command for a device, and its results. */
  readonly pull: PullQueue;
  private waker: Waker | undefined;
  /** The cached command in flight per device (`pk/dk`): one at a time. */
  private readonly inFlight = new Map<string, InFlight>();
  /** Instant commands waiting for their reply, by command id. */
  private readonly waiters = new Map<string, InFlight>();
  private readonly kicking = new Map<string, Promise<void>>();
  private readonly unsubscribe: (() => void)[] = [];
  private sweepTimer?: NodeJS.Timeout;
  /** Single writer only: devices (`pk/dk`) that may have cached commands pending (pending-work.ts). */
  private queued: PendingWork | undefined;

  constructor(
    private readonly commands: Collection<CommandRecord>,
    private readonly types: CommandDeviceTypes,
    private readonly log: Logger,
    private readonly limits: CommandLimits = defaultCommandLimits,
    private readonly clock: () => number = Date.now,
    private readonly metrics?: { commandOutcomes: { inc(labels: { status: string }): void } },
    /** Cluster: this node's id. Without it (one node) every "sent" record is this node's. */
    private readonly nodeId?: string,
  ) {
    super();
    this.pull = new PullQueue(
      commands,
      (c) => this.types.require(deviceTypeOf(c)).render(c),
      clock,
      (c) => {
        this.metrics?.commandOutcomes.inc({ status: c.status });
        this.emit('status', c);
      },
    );
  }

  /** Who wakes 'wake-and-pull' devices when a command is queued for them (the push queue). */
  setWaker(waker: Waker): void {
    this.waker = waker;
  }

  /** The ids of the 'push' types: their records' queue runs here (a filter on deviceType). */
  private pushTypeFilter(): Filter {
    const ids = this.types
      .list()
      .filter((t) => t.delivery === 'push')
      .map((t) => t.id);
    return { $or: [{ deviceType: { $exists: false } }, { deviceType: { $in: ids } }] };
  }

  /**
   * Subscribes to replies and reachability of every 'push' type; their commands left "sent" by a
   * previous run timed out (the in-flight slot lived in memory). Pulled commands left "sent" stay
   * queued: the device gets them again at its next check-in.
   */
  async start(): Promise<void> {
    for (const type of this.types.list()) {
      if (type.delivery !== 'push' || !type.channel) continue;
      const channel = type.channel;
      this.unsubscribe.push(channel.onReply((r) => this.onReply(r)));
      this.unsubscribe.push(
        channel.onReachable((pk, dk) => {
          // A device with nothing queued costs a lookup, not a query (pending-work.ts).
          if (this.queued && !this.queued.has(`${pk}/${dk}`)) return;
          void this.kick(pk, dk, type.id);
        }),
      );
    }
    // Only this node's own: other nodes of a cluster are still waiting for theirs.
    const mine = this.nodeId ? [{ sentBy: this.nodeId }] : [];
    const orphaned = await this.commands.find({ $and: [{ status: 'sent' }, this.pushTypeFilter(), ...mine] }, { limit: 10_000 });
    for (const c of orphaned.items)
      await this.finish(c.commandId, 'timeout', undefined, 'the hub restarted while waiting for the reply', 'sent');
    this.sweepTimer = setInterval(
      () => void this.sweep().catch((err: unknown) => this.log.error({ err }, 'command sweep failed')),
      this.limits.sweepIntervalMs,
    );
    this.sweepTimer.unref();
  }

  /**
   * For a process that is the commands' single writer (no cluster): devices with pending cached
   * commands are tracked in memory from here on, so a device coming online with nothing queued is
   * not queried for. Call before start().
   */
  async trackPendingInMemory(): Promise<void> {
    const queued = new PendingWork();
    this.queued = queued;
    const pending = await this.commands.find({ $and: [{ status: 'pending', pendingTtlSeconds: { $gt: 0 } }, this.pushTypeFilter()] });
    for (const c of pending.items) queued.mark(`${c.productKey}/${c.deviceKey}`);
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
    const type = this.types.get(cmd.deviceType ?? 'enos-mqtt');
    if (!type) throw new EnosError(codes.invalidArgument, `Invalid Argument deviceType: ${cmd.deviceType} is not enabled`);
    const max = type.deadlines.maxPendingSeconds;
    const min = type.delivery === 'push' ? 0 : 1;
    if (!Number.isInteger(cmd.pendingTtlSeconds) || cmd.pendingTtlSeconds < min || cmd.pendingTtlSeconds > max) {
      throw new EnosError(codes.invalidArgument, `Invalid Argument pendingTtl: from ${min} to ${max} seconds`);
    }
    const now = this.clock();
    const record: CommandRecord = {
      commandId: newCommandId(now),
      orgId: cmd.target.orgId,
      assetId: cmd.target.assetId,
      productKey: cmd.target.productKey,
      deviceKey: cmd.target.deviceKey,
      deviceType: type.id,
      ...(cmd.activityId ? { activityId: cmd.activityId } : {}),
      kind: cmd.kind,
      name: cmd.name,
      params: cmd.params,
      createdAt: now,
      pendingTtlSeconds: cmd.pendingTtlSeconds,
      expireAt: now + cmd.pendingTtlSeconds * 1000,
      timeoutMs: cmd.timeoutMs,
      status: 'pending',
      operationStatus: 'PENDING',
      history: [{ status: 'pending', at: now }],
      createBy: cmd.by,
    };
    // A command its type cannot express is refused now, not when the device asks for it.
    await type.render(record);
    if (type.delivery === 'wake-and-pull') return this.queueForPull(record);
    return cmd.pendingTtlSeconds === 0 ? this.instant(record, type) : this.cached(record);
  }

  async get(orgId: string, commandId: string): Promise<CommandRecord> {
    const c = await this.commands.get(commandId);
    if (!c || c.orgId !== orgId) throw new EnosError(codes.notFound, `Command ${commandId} not found`);
    return c;
  }

  /** Cached commands waiting or in flight, all devices (a metric). */
  queueDepth(): Promise<number> {
    return this.commands.count({ status: { $in: ['pending', 'sent', 'notnow', 'in-progress'] }, pendingTtlSeconds: { $gt: 0 } });
  }

  search(orgId: string, filter: Filter, options: FindOptions) {
    return this.commands.find({ $and: [{ orgId }, filter] }, options);
  }

  /** Cancels a command that has not been sent yet. */
  async cancel(orgId: string, commandId: string): Promise<CommandRecord> {
    const c = await this.get(orgId, commandId);
    const now = this.clock();
    const updated = await this.commands.update(
      commandId,
      { status: 'cancelled', operationStatus: 'ERROR', history: [...c.history, { status: 'cancelled', at: now }] },
      { status: 'pending', orgId },
    );
    if (updated) this.emit('status', updated);
    if (!updated)
      throw new EnosError(
        codes.invalidArgument,
        `Invalid Argument commandId: command ${commandId} is ${(await this.get(orgId, commandId)).status}, only pending commands can be cancelled`,
      );
    return updated;
  }

  private async instant(record: CommandRecord, type: CommandDeviceType): Promise<CommandRecord> {
    const { productKey, deviceKey } = record;
    if (!(await type.channel!.isReachable(productKey, deviceKey)))
      throw new EnosError(codes.deviceOffline, `Device ${record.assetId} is offline`);
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
      throw new EnosError(
        codes.commandReplyTimeout,
        `No reply from device ${record.assetId} within ${record.timeoutMs / 1000} s (commandId ${record.commandId})`,
      );
    }
    return this.finish(record.commandId, 'replied', r);
  }

  private async checkRoom(record: CommandRecord): Promise<void> {
    const open = await this.commands.count({
      assetId: record.assetId,
      status: { $in: ['pending', 'sent', 'notnow', 'in-progress'] },
      pendingTtlSeconds: { $gt: 0 },
    });
    if (open >= this.limits.maxPendingPerDevice) {
      throw new EnosError(codes.commandCacheFull, `Device ${record.assetId} already has ${open} cached commands`);
    }
  }

  private async cached(record: CommandRecord): Promise<CommandRecord> {
    await this.checkRoom(record);
    this.queued?.mark(`${record.productKey}/${record.deviceKey}`);
    await this.commands.insert(record);
    void this.kick(record.productKey, record.deviceKey, deviceTypeOf(record));
    return record;
  }

  /** Queues a command for a device that pulls, then asks for a wake-up (a failed wake-up loses nothing: the command waits). */
  private async queueForPull(record: CommandRecord): Promise<CommandRecord> {
    await this.supersede(record);
    await this.checkRoom(record);
    await this.commands.insert(record);
    this.emit('status', record);
    try {
      await this.waker?.(record);
    } catch (err) {
      this.log.error({ err, commandId: record.commandId }, 'could not queue the wake-up; the command waits for the next check-in');
    }
    return record;
  }

  /**
   * A command issued again while an identical one (same operation, same parameters) still waits
   * for the same device, not yet handed out or deferred with NotNow: the older one ends REPEATED
   * (docs/DEVICE-MANAGEMENT.md, "Operation statuses"), as Entgra does, so the device runs it once.
   * One handed out and not answered yet is left alone: the device may be running it.
   */
  private async supersede(record: CommandRecord): Promise<void> {
    const waiting = await this.commands.find(
      { assetId: record.assetId, deviceType: deviceTypeOf(record), name: record.name, status: { $in: ['pending', 'notnow'] } },
      { limit: 100 },
    );
    const params = canonicalJson(record.params);
    for (const old of waiting.items) {
      if (canonicalJson(old.params) !== params) continue;
      await this.finish(old.commandId, 'repeated', undefined, `superseded by ${record.commandId}`, old.status);
    }
  }

  /** Delivers the device's next cached command if none is in flight; serialized per device. */
  kick(productKey: string, deviceKey: string, deviceType = 'enos-mqtt'): Promise<void> {
    const key = `${productKey}/${deviceKey}`;
    const running = this.kicking.get(key);
    if (running) return running.then(() => this.kick(productKey, deviceKey, deviceType));
    const type = this.types.get(deviceType);
    if (!type?.channel) return Promise.resolve();
    const p = this.deliverNext(productKey, deviceKey, type.channel)
      .catch((err: unknown) => this.log.error({ err, productKey, deviceKey }, 'cached command delivery failed'))
      .finally(() => this.kicking.delete(key));
    this.kicking.set(key, p);
    return p;
  }

  private async deliverNext(productKey: string, deviceKey: string, channel: CommandChannel): Promise<void> {
    const key = `${productKey}/${deviceKey}`;
    for (;;) {
      if (this.inFlight.has(key)) return;
      const stamp = this.queued?.stampOf(key);
      const next = // Instant commands (ttl 0) are owned by their caller and never wait in this queue.
        (
          await this.commands.find(
            { $and: [{ productKey, deviceKey, status: 'pending', pendingTtlSeconds: { $gt: 0 } }, this.pushTypeFilter()] },
            {
              sort: [
                { field: 'createdAt', order: 'ASC' },
                { field: 'commandId', order: 'ASC' },
              ],
              limit: 1,
            },
          )
        ).items[0];
      if (!next) return this.queued?.clear(key, stamp);
      if (next.expireAt <= this.clock()) {
        await this.finish(next.commandId, 'expired');
        continue;
      }
      if (channel.queueHolder) {
        // One command in flight per device, cluster-wide: the node holding the session runs the queue.
        const holder = await channel.queueHolder(productKey, deviceKey);
        if (holder === undefined) return;
        if (holder !== 'here') return channel.forwardKick?.(holder, productKey, deviceKey);
      } else if (!(await channel.isReachable(productKey, deviceKey))) {
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
      .then((c) => this.kick(productKey, deviceKey, c ? deviceTypeOf(c) : undefined));
  }

  private onReply(r: CommandReply): void {
    const waiter = this.waiters.get(r.commandId);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters.delete(r.commandId);
      waiter.done(r);
      return;
    }
    const key = `${r.productKey}/${r.deviceKey}`;
    if (this.inFlight.get(key)?.commandId === r.commandId) return this.settleInFlight(key, r.commandId, r);
    // Every node hears every reply: the sender, if alive, settles it first; the others look later.
    if (this.nodeId) setTimeout(() => void this.settleElsewhere(r), 1_000).unref();
  }

  /**
   * Cluster: a reply to a cached command this node did not send (its sender died, or the device
   * moved and answered here). Settled by id, once (the stored status is the condition); then the
   * device's queue goes on wherever its session is.
   */
  private async settleElsewhere(r: CommandReply): Promise<void> {
    try {
      const c = await this.commands.get(r.commandId);
      if (!c || c.status !== 'sent' || c.pendingTtlSeconds <= 0 || c.productKey !== r.productKey || c.deviceKey !== r.deviceKey) return;
      const done = await this.finish(r.commandId, 'replied', r, undefined, 'sent');
      if (done.status === 'replied') await this.kick(r.productKey, r.deviceKey, deviceTypeOf(done));
    } catch (err) {
      this.log.error({ err, commandId: r.commandId }, 'settling a reply failed');
    }
  }

  /**
   * Cluster: a node left without settling what it had sent. Its unanswered cached commands go back
   * to the queue (same command ids: a device that got one already may see it again) and each
   * device's queue runs again where its session now is.
   */
  async requeueSentBy(nodeId: string): Promise<number> {
    const left = await this.commands.find(
      { $and: [{ status: 'sent', sentBy: nodeId, pendingTtlSeconds: { $gt: 0 } }, this.pushTypeFilter()] },
      { limit: 10_000 },
    );
    const devices = new Map<string, CommandRecord>();
    for (const c of left.items) {
      const now = this.clock();
      const back = await this.commands.update(
        c.commandId,
        {
          status: 'pending',
          history: [...c.history, { status: 'pending', at: now, note: `its node ${nodeId} left the cluster: delivered again` }],
        },
        { status: 'sent' },
      );
      if (back) {
        this.queued?.mark(`${c.productKey}/${c.deviceKey}`);
        devices.set(`${c.productKey}/${c.deviceKey}`, c);
      }
    }
    for (const c of devices.values()) await this.kick(c.productKey, c.deviceKey, deviceTypeOf(c));
    return left.items.length;
  }

  /** Marks the command sent (with its stored reply deadline) and hands its wire form to the type's channel. */
  private async deliver(c: CommandRecord): Promise<boolean> {
    const now = this.clock();
    const type = this.types.require(deviceTypeOf(c));
    await this.commands.update(c.commandId, {
      status: 'sent',
      sentAt: now,
      replyDeadlineAt: now + c.timeoutMs,
      ...(this.nodeId ? { sentBy: this.nodeId } : {}),
      history: [...c.history, { status: 'sent', at: now }],
    });
    this.metrics?.commandOutcomes.inc({ status: 'sent' });
    return type.channel!.send(c.productKey, c.deviceKey, await type.render(c));
  }

  private async revertToPending(commandId: string): Promise<void> {
    const c = await this.commands.get(commandId);
    if (c) this.queued?.mark(`${c.productKey}/${c.deviceKey}`);
    if (c)
      await this.commands.update(
        commandId,
        { status: 'pending', history: [...c.history, { status: 'pending', at: this.clock(), note: 'not delivered: device unreachable' }] },
        { status: 'sent' },
      );
  }

  private async finish(
    commandId: string,
    status: CommandStatus,
    reply?: CommandReply,
    note?: string,
    from?: CommandStatus,
  ): Promise<CommandRecord> {
    const c = await this.commands.get(commandId);
    if (!c) throw new EnosError(codes.notFound, `Command ${commandId} not found`);
    const now = this.clock();
    this.metrics?.commandOutcomes.inc({ status });
    const set: Partial<CommandRecord> = { status, history: [...c.history, note ? { status, at: now, note } : { status, at: now }] };
    if (reply) {
      set.repliedAt = now;
      set.reply =
        reply.message !== undefined
          ? { code: reply.code, message: reply.message, data: reply.data }
          : { code: reply.code, data: reply.data };
    }
    set.operationStatus = operationStatusOf({ status, reply: set.reply ?? c.reply });
    const updated = await this.commands.update(commandId, set, from ? { status: from } : undefined);
    if (!updated) return c; // changed meanwhile (a reply won the race with the sweep)
    this.emit('status', updated);
    return updated;
  }

  /**
   * Applies the stored deadlines: queued commands past expireAt expire; pulled commands handed out
   * or deferred and still unanswered at expireAt time out; a pushed command whose reply deadline
   * passed a sweep interval ago (its node's timer is gone: a crash) times out. Old history goes.
   */
  async sweep(): Promise<void> {
    const now = this.clock();
    const expired = await this.commands.find(
      { status: 'pending', pendingTtlSeconds: { $gt: 0 }, expireAt: { $lte: now } },
      { limit: 1000 },
    );
    for (const c of expired.items) await this.finish(c.commandId, 'expired', undefined, 'not delivered before its deadline', 'pending');
    const unanswered = await this.commands.find(
      { status: { $in: ['sent', 'notnow', 'in-progress'] }, pendingTtlSeconds: { $gt: 0 }, expireAt: { $lte: now } },
      { limit: 1000 },
    );
    for (const c of unanswered.items) {
      if (this.types.get(deviceTypeOf(c))?.delivery === 'wake-and-pull')
        await this.finish(c.commandId, 'timeout', undefined, 'no answer before its deadline', c.status);
    }
    const lost = await this.commands.find(
      { $and: [{ status: 'sent', replyDeadlineAt: { $lte: now - this.limits.sweepIntervalMs } }, this.pushTypeFilter()] },
      { limit: 1000 },
    );
    for (const c of lost.items) {
      if (![...this.inFlight.values(), ...this.waiters.values()].some((f) => f.commandId === c.commandId))
        await this.finish(c.commandId, 'timeout', undefined, 'no reply before its deadline', 'sent');
    }
    const old = await this.commands.find(
      {
        status: { $in: ['replied', 'timeout', 'expired', 'cancelled', 'acknowledged', 'error', 'format-error', 'repeated'] },
        createdAt: { $lt: now - this.limits.historyRetentionMs },
      },
      { limit: 1000 },
    );
    for (const c of old.items) await this.commands.delete(c.commandId);
  }
}
