import type { Logger } from 'pino';
import type { PullDevice } from '../../commands/pull-queue.js';
import { openStatuses } from '../../commands/records.js';
import { DeviceMgtError } from '../../device-management/errors.js';
import type { DeviceRecord, Ownership } from '../../device-management/records.js';
import type { DeviceTypeContext } from '../plugin.js';
import type { AndroidEnrollments } from './enrollments.js';
import { agentErrors } from './errors.js';
import type { AndroidWireOperation } from './operations.js';
import { deviceInfoProperties, parseAgentResults } from './results.js';

export const ANDROID = 'android';
/** The device property that carries the FCM registration token (kept as the push token, not as a property). */
export const FCM_TOKEN = 'FCM_TOKEN';
/** Android has no NotNow: every request is the same session for the pull queue. */
const session = 'android';
/** Operations handed out per pending-operations answer. */
export const maxOperationsPerAnswer = 100;

export interface AndroidEnrollInput {
  orgId: string;
  owner: string;
  deviceIdentifier: string;
  name?: string;
  description?: string;
  ownership?: Ownership;
  properties: Record<string, string>;
}

/**
 * The Android agent protocol on the command core (docs/DEVICE-MANAGEMENT.md, "Android: agent
 * protocol"): enrollment with a per-enrollment bearer token, the FCM token as the device's push
 * token, results in and pending operations out, status, disenrollment.
 */
export class AndroidAgentService {
  constructor(
    private readonly ctx: DeviceTypeContext,
    private readonly enrollments: AndroidEnrollments,
    private readonly log: Logger,
  ) {}

  async enroll(input: AndroidEnrollInput): Promise<{ device: DeviceRecord; accessToken: string }> {
    const { [FCM_TOKEN]: fcmToken, ...properties } = input.properties;
    const device = await this.ctx.devices.enroll({
      orgId: input.orgId,
      type: ANDROID,
      deviceIdentifier: input.deviceIdentifier,
      owner: input.owner,
      properties,
      ...(input.name ? { name: input.name } : {}),
      ...(input.description ? { description: input.description } : {}),
      ...(input.ownership ? { ownership: input.ownership } : {}),
    });
    const accessToken = await this.enrollments.issue(input.deviceIdentifier, this.ctx.clock());
    if (fcmToken) await this.ctx.devices.setPushToken(device.id, fcmToken, {});
    this.log.info({ deviceId: device.id, orgId: input.orgId }, 'android device enrolled');
    return { device, accessToken };
  }

  /** The enrolled device a bearer token belongs to; throws 401 otherwise (unknown device, wrong token, disenrolled). */
  async authenticate(deviceIdentifier: string, authorization: string | undefined): Promise<DeviceRecord> {
    const m = /^Bearer ([A-Za-z0-9_-]{20,200})$/.exec(authorization ?? '');
    if (!m || !(await this.enrollments.verify(deviceIdentifier, m[1]!))) throw agentErrors.invalidToken();
    const d = await this.ctx.devices.byIdentifier(ANDROID, deviceIdentifier);
    if (!d || d.status === 'REMOVED') throw agentErrors.invalidToken();
    return d;
  }

  /** PUT …/devices/{id}: new properties; an FCM_TOKEN property becomes the push token (and clears an "unregistered" mark). */
  async modify(d: DeviceRecord, properties: Record<string, string>, name?: string): Promise<DeviceRecord> {
    const { [FCM_TOKEN]: fcmToken, ...rest } = properties;
    if (fcmToken) await this.ctx.devices.setPushToken(d.id, fcmToken, {});
    if (Object.keys(rest).length > 0 || name) {
      return this.ctx.devices.update(d.orgId, ANDROID, d.deviceIdentifier, {
        ...(Object.keys(rest).length > 0 ? { properties: rest } : {}),
        ...(name ? { name } : {}),
      });
    }
    return (await this.ctx.devices.byId(d.id)) ?? d;
  }

  /**
   * PUT …/devices/{id}/pending-operations: checks every result first (nothing is stored when one
   * is bad), stores them, and answers the device's pending operations, oldest first.
   */
  async exchange(d: DeviceRecord, body: unknown): Promise<AndroidWireOperation[]> {
    const device: PullDevice = { deviceType: ANDROID, deviceId: d.id };
    const results = parseAgentResults(body);
    const checked = [];
    for (const r of results) {
      const c = await this.ctx.pull.commandOf(device, r.id);
      if (!c) throw agentErrors.unknownOperation(r.id);
      if (c.name !== r.code) throw agentErrors.codeMismatch(r.id);
      checked.push({ r, open: openStatuses.includes(c.status) });
    }
    for (const { r, open } of checked) {
      // An answer for an operation already closed is a re-sent one (the agent lost our 201): nothing to do.
      if (!open || r.outcome === null) continue;
      if (r.code === 'DEVICE_INFO' && r.outcome === 'acknowledged') {
        const info = deviceInfoProperties(r.response);
        if (info && Object.keys(info).length > 0) await this.ctx.devices.update(d.orgId, ANDROID, d.deviceIdentifier, { properties: info });
      }
      try {
        await this.ctx.pull.report(device, session, {
          commandId: r.id,
          outcome: r.outcome,
          ...(r.response !== undefined ? (r.outcome === 'error' ? { error: r.response } : { data: r.response }) : {}),
        });
      } catch (err) {
        if (err instanceof DeviceMgtError && (err.status === 404 || err.status === 409)) continue; // raced with another request
        throw err;
      }
    }
    await this.ctx.devices.touch(d.id);
    const pulled = await this.ctx.pull.pendingCommands(device, session, maxOperationsPerAnswer);
    return pulled.map((p) => p.wire as AndroidWireOperation);
  }

  /** DELETE …/devices/{id}: disenrolled, the token revoked, what was queued ends as ERROR. */
  async disenroll(d: DeviceRecord): Promise<void> {
    await this.ctx.devices.disenroll(d.id);
    await this.enrollments.remove(d.deviceIdentifier);
    await this.ctx.pull.clear({ deviceType: ANDROID, deviceId: d.id }, 'the device disenrolled');
    this.log.info({ deviceId: d.id }, 'android device disenrolled');
  }
}
