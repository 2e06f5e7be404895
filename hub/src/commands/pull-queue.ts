import type { Collection } from '../store/port.js';
import { DeviceMgtError } from './operation-error.js';
import type { DeviceResult, WirePayload } from './device-type-port.js';
import { operationStatusOf, type CommandRecord, type CommandStatus } from './records.js';

/** The device as a pulling device type names it: its type and its device-management id. */
export interface PullDevice {
  deviceType: string;
  /** The device-management device id (the command records' assetId). */
  deviceId: string;
}

export interface PulledCommand {
  command: CommandRecord;
  wire: WirePayload;
}

/** Statuses a pulling device can be handed a command in (a sent one is re-sent until answered). */
const pullable: CommandStatus[] = ['pending', 'sent', 'notnow'];
/** Statuses a result can be reported for. */
const reportable: CommandStatus[] = ['pending', 'sent', 'notnow', 'in-progress'];

const order = [
  { field: 'createdAt', order: 'ASC' as const },
  { field: 'commandId', order: 'ASC' as const },
];

/**
 * The pull side of the command core (docs/DEVICE-MANAGEMENT.md, "Wake and pull"): a woken device
 * checks in and asks for its next command; it reports each result and asks again.
 *
 * - Order: oldest first (createdAt, then commandId). A command handed out and not answered is
 *   handed out again on the next request (the device does not keep it).
 * - NotNow: the command stays queued but is not handed out again in the same check-in session;
 *   a later session (a new `session` value) gets it again. The caller names sessions: Apple
 *   starts one with each Idle request.
 * - Deadlines: a command past its stored `expireAt` is never handed out; it is marked expired.
 * Every change is a conditional update on the stored status, so two requests of the same device
 * racing cannot apply one result twice.
 */
export class PullQueue {
  constructor(
    private readonly commands: Collection<CommandRecord>,
    private readonly render: (c: CommandRecord) => WirePayload | Promise<WirePayload>,
    private readonly clock: () => number,
    private readonly onStatus: (c: CommandRecord) => void = () => undefined,
  ) {}

  /** The device's next command in this session, rendered, or undefined when there is none. */
  async nextCommand(device: PullDevice, session: string): Promise<PulledCommand | undefined> {
    for (let skipped = 0; ;) {
      const found = await this.commands.find(
        { assetId: device.deviceId, deviceType: device.deviceType, status: { $in: pullable } },
        { sort: order, offset: skipped, limit: 1 },
      );
      const next = found.items[0];
      if (!next) return undefined;
      const handed = await this.hand(next, session);
      if (handed === 'skip') skipped++;
      else if (handed) return handed;
    }
  }

  /**
   * Every command the device may be handed now, oldest first, at most `max`, each rendered and
   * marked sent: for device types whose devices take their whole list in one request (Android's
   * pending-operations). Commands deferred (NotNow) in this session are left out.
   */
  async pendingCommands(device: PullDevice, session: string, max: number): Promise<PulledCommand[]> {
    const found = await this.commands.find(
      { assetId: device.deviceId, deviceType: device.deviceType, status: { $in: pullable } },
      { sort: order, limit: max },
    );
    const out: PulledCommand[] = [];
    for (const c of found.items) {
      const handed = await this.hand(c, session);
      if (handed && handed !== 'skip') out.push(handed);
    }
    return out;
  }

  /** A command of this device (any status), or undefined for an unknown id or another device's command. */
  async commandOf(device: PullDevice, commandId: string): Promise<CommandRecord | undefined> {
    const c = await this.commands.get(commandId);
    if (!c || c.assetId !== device.deviceId || (c.deviceType ?? 'enos-mqtt') !== device.deviceType) return undefined;
    return c;
  }

  /** Hands one pullable command out (rendered, marked sent); undefined when it expired, failed to render or was taken meanwhile. */
  private async hand(next: CommandRecord, session: string): Promise<PulledCommand | 'skip' | undefined> {
    const now = this.clock();
    if (next.expireAt <= now) {
      await this.transition(next, 'expired', {}, 'not answered before its deadline');
      return undefined;
    }
    if (next.status === 'notnow' && next.notNowSession === session) return 'skip';
    let wire: WirePayload;
    try {
      wire = await this.render(next);
    } catch (err) {
      await this.transition(
        next,
        'format-error',
        { result: { outcome: 'format-error', error: String((err as Error).message) } },
        'could not be rendered',
      );
      return undefined;
    }
    const sent = await this.transition(next, 'sent', { sentAt: now, replyDeadlineAt: next.expireAt });
    if (!sent) return undefined; // another request of the device took it
    return { command: sent, wire };
  }

  /**
   * Stores a device's result. Unknown command, a command of another device, or one already
   * answered → DeviceMgtError 404/409 and nothing changes.
   */
  async report(device: PullDevice, session: string, result: DeviceResult): Promise<CommandRecord> {
    const c = await this.commands.get(result.commandId);
    if (!c || c.assetId !== device.deviceId || (c.deviceType ?? 'enos-mqtt') !== device.deviceType) {
      throw new DeviceMgtError(404, `no command ${result.commandId} for this device`);
    }
    if (!reportable.includes(c.status)) throw new DeviceMgtError(409, `command ${result.commandId} is already ${c.status}`);
    const now = this.clock();
    const stored: CommandRecord['result'] = { outcome: result.outcome };
    if (result.data !== undefined) stored.data = result.data;
    if (result.error !== undefined) stored.error = result.error;
    const status: CommandStatus =
      result.outcome === 'acknowledged'
        ? 'acknowledged'
        : result.outcome === 'error'
          ? 'error'
          : result.outcome === 'format-error'
            ? 'format-error'
            : result.outcome === 'not-now'
              ? 'notnow'
              : 'in-progress';
    const set: Partial<CommandRecord> = { result: stored, repliedAt: now };
    if (status === 'notnow') {
      set.notNowSession = session;
      set.notNowCount = (c.notNowCount ?? 0) + 1;
    }
    const updated = await this.transition(c, status, set);
    if (!updated) throw new DeviceMgtError(409, `command ${result.commandId} changed meanwhile`);
    return updated;
  }

  /**
   * Ends every outstanding command of a device as ERROR with a note (Apple: a new Authenticate —
   * what was queued for the old enrollment must not reach the new one). Returns how many.
   */
  async clear(device: PullDevice, note: string): Promise<number> {
    const open = await this.commands.find(
      { assetId: device.deviceId, deviceType: device.deviceType, status: { $in: reportable } },
      { sort: order, limit: 10_000 },
    );
    let n = 0;
    for (const c of open.items) if (await this.transition(c, 'error', { result: { outcome: 'error', error: note } }, note)) n++;
    return n;
  }

  private async transition(
    c: CommandRecord,
    status: CommandStatus,
    set: Partial<CommandRecord>,
    note?: string,
  ): Promise<CommandRecord | undefined> {
    const at = this.clock();
    const next = {
      ...set,
      status,
      operationStatus: operationStatusOf({ status, reply: c.reply }),
      history: [...c.history, note ? { status, at, note } : { status, at }],
    };
    const updated = await this.commands.update(c.commandId, next, { status: c.status });
    if (updated) this.onStatus(updated);
    return updated;
  }
}
