import type { Logger } from 'pino';
import { DeviceMgtError } from '../../device-management/errors.js';
import type { DeviceRecord } from '../../device-management/records.js';
import type { ChannelOrigins } from '../../push/wns/channel-uri.js';
import type { Collection } from '../../store/port.js';
import type { PullDevice } from '../../commands/pull-queue.js';
import type { DeviceTypeContext } from '../plugin.js';
import { WINDOWS } from './enrollment-service.js';
import { secretMatches, type WindowsEnrollment } from './enrollments.js';
import { windowsErrors } from './errors.js';
import { outcomeOfStatus } from './operations.js';
import { buildServerMessage, type DeviceMessage, type ServerMessage, type ServerSyncCommand, type SyncItem } from './syncml.js';

const channelUriNode = /^\.\/Vendor\/MSFT\/DMClient\/Provider\/[^/]+\/Push\/ChannelURI$/;
/** Values a device reports of its own that the device directory keeps as properties. */
const propertyNodes: Record<string, string> = {
  './DevInfo/Man': 'manufacturer',
  './DevInfo/Mod': 'model',
  './DevDetail/SwV': 'osVersion',
};

/**
 * One turn of a SyncML session (docs/DEVICE-MANAGEMENT.md, "Windows: SyncML sessions"): the device
 * authenticates with its per-enrollment credentials (SyncHdr Cred, syncml:auth-basic); its
 * Status and Results for earlier commands become the core's results (Status code → outcome, the
 * Results items as data); a ChannelURI it reports becomes its push token; the answer holds a Status
 * for the header and each of its commands, then the device's next queued command, if any. The
 * session ends when an answer carries no command.
 */
export class ManagementService {
  constructor(
    private readonly enrollments: Collection<WindowsEnrollment>,
    private readonly ctx: DeviceTypeContext,
    private readonly origins: ChannelOrigins,
    private readonly log: Logger,
    private readonly managementUrl: () => string,
  ) {}

  async turn(msg: DeviceMessage): Promise<string> {
    const device = await this.authenticate(msg);
    const ref: PullDevice = { deviceType: WINDOWS, deviceId: device.id };
    const session = `${msg.header.source}:${msg.header.sessionId}`;

    const statuses: ServerMessage['statuses'] = [
      { cmdId: '1', msgRef: msg.header.msgId, cmdRef: '0', cmd: 'SyncHdr', code: msg.header.cred ? 212 : 200 },
    ];
    const ack = (cmdRef: string, cmd: string, code: number) =>
      statuses.push({ cmdId: String(statuses.length + 1), msgRef: msg.header.msgId, cmdRef, cmd, code });

    const properties: Record<string, string> = {};
    for (const c of msg.commands) {
      let code = 200;
      for (const item of c.items) {
        const node = item.target ?? item.source;
        if (node && channelUriNode.test(node)) code = await this.channelUri(device, item);
        else if (node && propertyNodes[node] && item.data !== undefined) properties[propertyNodes[node]] = item.data.slice(0, 256);
      }
      ack(c.cmdId, c.kind, code);
    }
    for (const r of msg.results) ack(r.cmdId, 'Results', 200);
    if (Object.keys(properties).length > 0) await this.ctx.devices.update(device.orgId, WINDOWS, device.deviceIdentifier, { properties });

    const resultsByCmd = new Map<string, Record<string, string>>();
    for (const r of msg.results) {
      const values = resultsByCmd.get(r.cmdRef) ?? {};
      for (const item of r.items) {
        const node = item.source ?? item.target;
        if (node) values[node] = item.data ?? '';
      }
      resultsByCmd.set(r.cmdRef, values);
    }
    for (const s of msg.statuses) {
      if (s.cmd === 'SyncHdr' || s.cmdRef === '0') continue;
      const outcome = outcomeOfStatus(s.code);
      const results = resultsByCmd.get(s.cmdRef);
      try {
        await this.ctx.pull.report(ref, session, {
          commandId: s.cmdRef,
          outcome,
          data: { status: s.code, ...(results ? { results } : {}) },
          ...(outcome === 'acknowledged' ? {} : { error: { status: s.code, cmd: s.cmd } }),
        });
      } catch (err) {
        if (!(err instanceof DeviceMgtError)) throw err;
        // A Status for a command that is not this device's, or answered already: nothing changes.
        this.log.info({ deviceId: device.deviceIdentifier, cmdRef: s.cmdRef.slice(0, 64) }, 'windows status for no outstanding command');
      }
    }

    await this.ctx.devices.touch(device.id);
    const next = await this.ctx.pull.nextCommand(ref, session);
    const commands: ServerSyncCommand[] = next ? [next.wire as ServerSyncCommand] : [];
    return buildServerMessage({
      sessionId: msg.header.sessionId,
      msgId: msg.header.msgId,
      target: msg.header.source,
      source: this.managementUrl(),
      statuses,
      commands,
    });
  }

  private async authenticate(msg: DeviceMessage): Promise<DeviceRecord> {
    const cred = msg.header.cred;
    if (!cred || cred.type !== 'syncml:auth-basic') throw windowsErrors.unauthorized();
    const decoded = Buffer.from(cred.data, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw windowsErrors.unauthorized();
    const name = decoded.slice(0, colon);
    const enrollment = name === msg.header.source ? await this.enrollments.get(name) : undefined;
    // Compared even without an enrollment, so an unknown DeviceID costs the same as a wrong secret.
    const ok = secretMatches(decoded.slice(colon + 1), enrollment?.secretSha256 ?? '0'.repeat(64));
    if (!enrollment || !ok) throw windowsErrors.unauthorized();
    const device = await this.ctx.devices.byIdentifier(WINDOWS, msg.header.source);
    if (!device || device.status === 'REMOVED') throw windowsErrors.notEnrolled();
    return device;
  }

  /**
   * The device's WNS channel: stored as its push token when it is within the allowed origins (403
   * otherwise). The same URI that WNS already declared expired stays dropped: only a new one counts.
   */
  private async channelUri(device: DeviceRecord, item: SyncItem): Promise<number> {
    const uri = item.data?.trim();
    if (!uri || !this.origins.check(uri)) {
      this.log.warn({ deviceId: device.deviceIdentifier }, 'windows channel URI refused: outside HUB_WNS_CHANNEL_ORIGINS');
      return 403;
    }
    if (device.push?.token === uri) return 200;
    await this.ctx.devices.setPushToken(device.id, uri, {});
    this.log.info({ deviceId: device.deviceIdentifier }, 'windows channel URI registered');
    return 200;
  }
}
