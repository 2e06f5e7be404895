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

  constructor(private readonly ctx: DeviceTypeContext) {}

  private async device(udid: string): Promise<{ deviceType: string; deviceId: string } | undefined> {
    const d = await this.ctx.devices.byIdentifier(IOS, udid);
    return d ? { deviceType: IOS, deviceId: d.id } : undefined;
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
    const device = await this.device(udid);
    if (device) await this.ctx.pull.clear(device, 'the device enrolled again (Authenticate)');
  }
}
