import { safeEqualHex } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { Collection } from '../../store/port.js';
import type { MdmCommandSource, MdmResultStatus } from './command-source.js';
import { mdmResultStatuses } from './command-source.js';
import type { IosEnrollment } from './enrollments.js';
import { mdmErrors } from './errors.js';
import type { DeviceIdentity } from './identity.js';
import { dataField, stringField, type PlistDict } from './plist-codec.js';

/** What the check-in URL carried besides the plist: the enrollment token of the profile (`?enrollment=`). */
export interface CheckinContext {
  enrollmentToken?: string;
}

/** How stale an enrollment's lastSeenAt may be before a command request writes it again. */
export const lastSeenResolutionMs = 60_000;

/** Hooks into the device-management directory, awaited before the device gets its 200. */
export interface MdmServiceEvents {
  authenticated?(enrollment: IosEnrollment, via: CheckinContext): Promise<void>;
  /** Every TokenUpdate: the push token, PushMagic and topic to wake the device with. */
  tokenUpdated?(enrollment: IosEnrollment): Promise<void>;
  checkedOut?(udid: string): Promise<void>;
}

/**
 * The Apple check-in protocol and command endpoint (docs/DEVICE-MANAGEMENT.md, "Apple: check-in"
 * and "Apple: commands"). Knows nothing of HTTP: the routes hand it a parsed plist and the
 * request's verified identity; it answers with a command plist, or nothing (an empty 200).
 */
export class MdmService {
  constructor(
    private readonly enrollments: Collection<IosEnrollment>,
    private readonly commands: MdmCommandSource,
    private readonly log: Logger,
    /** The push topic of this server's certificate; a check-in for another topic is refused. */
    private readonly topic: () => string | undefined,
    private readonly events: MdmServiceEvents = {},
    private readonly clock: () => number = Date.now,
  ) {}

  async checkin(msg: PlistDict, identity: DeviceIdentity, via: CheckinContext = {}): Promise<void> {
    const type = stringField(msg, 'MessageType');
    if (type === undefined) throw mdmErrors.missingField('MessageType');
    switch (type) {
      case 'Authenticate':
        return this.authenticate(msg, identity, via);
      case 'TokenUpdate':
        return this.tokenUpdate(msg, identity);
      case 'CheckOut':
        return this.checkOut(msg, identity);
      default:
        throw mdmErrors.unknownMessageType(type);
    }
  }

  /** A result (or Idle) from the device; answers with the next command plist, if any. */
  async command(msg: PlistDict, identity: DeviceIdentity): Promise<string | undefined> {
    const udid = deviceId(msg);
    const status = stringField(msg, 'Status');
    if (status === undefined) throw mdmErrors.missingField('Status');
    if (status !== 'Idle' && !(mdmResultStatuses as readonly string[]).includes(status)) throw mdmErrors.unknownStatus(status);
    const enrollment = await this.pinned(udid, identity);
    if (!enrollment.enabled) throw mdmErrors.notEnrolled();
    let skipNotNow = false;
    if (status !== 'Idle') {
      const commandUuid = stringField(msg, 'CommandUUID');
      if (!commandUuid) throw mdmErrors.missingField('CommandUUID');
      const known = await this.commands.report(udid, commandUuid, status as MdmResultStatus, msg);
      if (!known) throw mdmErrors.unknownCommand();
      skipNotNow = status === 'NotNow';
    }
    // lastSeenAt has a resolution of a minute (docs/DEVICE-MANAGEMENT.md, "Apple: check-in"): a
    // session of many commands is one store write, not one durable commit per request.
    const now = this.clock();
    if (now - enrollment.lastSeenAt >= lastSeenResolutionMs) await this.enrollments.update(udid, { lastSeenAt: now });
    const next = await this.commands.next(udid, { idle: status === 'Idle', skipNotNow });
    return next?.plist;
  }

  private async authenticate(msg: PlistDict, identity: DeviceIdentity, via: CheckinContext): Promise<void> {
    const udid = deviceId(msg);
    const topic = this.checkTopic(msg);
    const holder = (await this.enrollments.find({ certSha256: identity.sha256 }, { limit: 2 })).items.find((e) => e.udid !== udid);
    if (holder) throw mdmErrors.identityMismatch();
    const now = this.clock();
    const fields: IosEnrollment = {
      udid,
      topic,
      certSha256: identity.sha256,
      enabled: false,
      pushInvalid: false,
      tokenUpdateTally: 0,
      authenticatedAt: now,
      lastSeenAt: now,
    };
    for (const [key, field] of [
      ['SerialNumber', 'serialNumber'],
      ['DeviceName', 'deviceName'],
      ['Model', 'model'],
      ['OSVersion', 'osVersion'],
    ] as const) {
      const v = stringField(msg, key);
      if (v !== undefined) fields[field] = v.slice(0, 256);
    }
    const existing = await this.enrollments.get(udid);
    // The directory decides first (organization, enrollment token): a refused Authenticate stores nothing.
    await this.events.authenticated?.({ ...(existing ?? {}), ...fields }, via);
    if (existing) {
      await this.enrollments.unset(udid, ['tokenHex', 'pushMagic', 'unlockToken']);
      await this.enrollments.update(udid, fields);
    } else {
      await this.enrollments.insert(fields);
    }
    // A new Authenticate starts a new enrollment: what was queued for the old one is not sent.
    await this.commands.clear(udid);
    this.log.info({ udid, serialNumber: fields.serialNumber }, 'ios authenticate');
  }

  private async tokenUpdate(msg: PlistDict, identity: DeviceIdentity): Promise<void> {
    const udid = deviceId(msg);
    this.checkTopic(msg);
    const enrollment = await this.pinned(udid, identity);
    const token = dataField(msg, 'Token');
    const pushMagic = stringField(msg, 'PushMagic');
    if (!token || token.length === 0 || token.length > 100) throw mdmErrors.missingField('Token');
    if (!pushMagic || pushMagic.length > 256) throw mdmErrors.missingField('PushMagic');
    const unlock = dataField(msg, 'UnlockToken');
    const updated = await this.enrollments.update(udid, {
      tokenHex: token.toString('hex'),
      pushMagic,
      ...(unlock ? { unlockToken: unlock.toString('base64') } : {}),
      enabled: true,
      pushInvalid: false,
      tokenUpdateTally: enrollment.tokenUpdateTally + 1,
      lastSeenAt: this.clock(),
    });
    if (updated) {
      this.log.info({ udid, tally: updated.tokenUpdateTally }, 'ios token update');
      await this.events.tokenUpdated?.(updated);
    }
  }

  private async checkOut(msg: PlistDict, identity: DeviceIdentity): Promise<void> {
    const udid = deviceId(msg);
    await this.pinned(udid, identity);
    await this.enrollments.update(udid, { enabled: false, lastSeenAt: this.clock() });
    this.log.info({ udid }, 'ios check out');
    await this.events.checkedOut?.(udid);
  }

  /** The enrollment of this UDID, if the request's certificate is the one pinned at Authenticate. */
  private async pinned(udid: string, identity: DeviceIdentity): Promise<IosEnrollment> {
    const enrollment = await this.enrollments.get(udid);
    if (!enrollment) throw mdmErrors.unknownEnrollment();
    if (!safeEqualHex(enrollment.certSha256, identity.sha256)) throw mdmErrors.identityMismatch();
    return enrollment;
  }

  private checkTopic(msg: PlistDict): string {
    const topic = stringField(msg, 'Topic');
    if (!topic) throw mdmErrors.missingField('Topic');
    const ours = this.topic();
    if (ours !== undefined && topic !== ours) throw mdmErrors.topicMismatch();
    return topic;
  }
}

/** The device channel's id: UDID, or EnrollmentID for a User Enrollment. */
function deviceId(msg: PlistDict): string {
  const id = stringField(msg, 'UDID') ?? stringField(msg, 'EnrollmentID');
  if (!id || id.length > 128 || !/^[A-Za-z0-9._:-]+$/.test(id)) throw mdmErrors.missingField('UDID');
  return id;
}
