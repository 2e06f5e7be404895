import { randomUUID } from 'node:crypto';
import { DeviceMgtError } from '../../device-management/errors.js';
import type { DeviceTypeContext } from '../plugin.js';
import type { ResultOutcome } from '../../commands/operation-status.js';
import type { MdmCommandSource, MdmResultStatus, PulledCommand } from './command-source.js';
import type { PlistDict } from './plist-codec.js';

export const IOS = 'ios';

const outcomes: Record<MdmResultStatus, ResultOutcome> = {
  Acknowledged: 'acknowledged',
  Error: 'error',
  CommandFormatError: 'format-error',
  NotNow: 'not-now',
};

/** Plist values made storable (the store holds plain JSON): data as base64, dates as ISO text. */
export function plistToJson(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plistToJson);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plistToJson(v)]));
  return value;
}

/**
 * The iOS plugin's commands from the shared command core (docs/DEVICE-MANAGEMENT.md, "Wake and
 * pull"): the device-management id of a UDID comes from the device directory; each Idle starts a
 * new check-in session, so a command answered NotNow is not handed out again until the next Idle.
 */
export class CorePullSource implements MdmCommandSource {
  private readonly sessions = new Map<string, string>();
  /**
   * The device-management id of each UDID seen, so the two or three lookups of every command
   * (next, report, next) are not each a store query (docs/BENCHMARKS.md, "Apple MDM: the command
   * loop"). The id of an enrolled UDID does not change; Authenticate and CheckOut forget it.
   */
  private readonly ids = new Map<string, string>();
  private static readonly idCacheLimit = 200_000;

  constructor(private readonly ctx: DeviceTypeContext) {}

  private async device(udid: string): Promise<{ deviceType: string; deviceId: string } | undefined> {
    let id = this.ids.get(udid);
    if (id === undefined) {
      id = (await this.ctx.devices.byIdentifier(IOS, udid))?.id;
      if (id === undefined) return undefined;
      if (this.ids.size >= CorePullSource.idCacheLimit) this.ids.clear();
      this.ids.set(udid, id);
    }
    return { deviceType: IOS, deviceId: id };
  }

  /** Drops what is kept for a UDID (its enrollment changed: Authenticate, CheckOut). */
  forget(udid: string): void {
    this.ids.delete(udid);
    this.sessions.delete(udid);
  }

  private session(udid: string, fresh: boolean): string {
    let s = this.sessions.get(udid);
    if (fresh || !s) {
      s = randomUUID();
      this.sessions.set(udid, s);
    }
    return s;
  }

  async next(udid: string, turn: { idle: boolean; skipNotNow: boolean }): Promise<PulledCommand | undefined> {
    const device = await this.device(udid);
    if (!device) return undefined;
    const pulled = await this.ctx.pull.nextCommand(device, this.session(udid, turn.idle));
    if (!pulled) {
      this.sessions.delete(udid);
      return undefined;
    }
    return { commandUuid: pulled.command.commandId, plist: String(pulled.wire) };
  }

  async report(udid: string, commandUuid: string, status: MdmResultStatus, response: PlistDict): Promise<boolean> {
    const device = await this.device(udid);
    if (!device) return false;
    const { ErrorChain, ...data } = response;
    try {
      await this.ctx.pull.report(device, this.session(udid, false), {
        commandId: commandUuid,
        outcome: outcomes[status],
        data: plistToJson(data),
        ...(ErrorChain !== undefined ? { error: plistToJson(ErrorChain) } : {}),
      });
      return true;
    } catch (err) {
      if (err instanceof DeviceMgtError && (err.status === 404 || err.status === 409)) return false;
      throw err;
    }
  }

  async clear(udid: string): Promise<void> {
    this.forget(udid);
    const device = await this.device(udid);
    if (device) await this.ctx.pull.clear(device, 'the device enrolled again (Authenticate)');
  }
}
