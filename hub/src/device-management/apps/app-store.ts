import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { EnosError, newCommandId } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { CommandCore } from '../../commands/command-core.js';
import type { OperationStatus } from '../../commands/operation-status.js';
import type { CommandRecord } from '../../commands/records.js';
import { DuplicateKeyError, type Collection, type CollectionSpec } from '../../store/port.js';
import type { DeviceManagement } from '../device-management.js';
import { DeviceMgtError } from '../errors.js';
import type { DmCaller } from '../oauth.js';
import { rolesOf } from '../policies/effective-policy.js';
import type { DeviceRecord } from '../records.js';
import { appOperation } from './operations.js';
import type { AppFilter, AppPublisher } from './publisher.js';
import type {
  DeviceAppRecord,
  DeviceAppStatus,
  ReleaseRecord,
  SubscriptionAction,
  SubscriptionRecord,
  SubscriptionTarget,
} from './records.js';

export const subscriptionSpec: CollectionSpec = { name: 'amSubscriptions', key: 'id', indexes: ['orgId', 'state', 'releaseUuid'] };
export const deviceAppSpec: CollectionSpec = {
  name: 'amDeviceApps',
  key: 'id',
  indexes: ['deviceId', 'commandId', 'releaseUuid', 'status'],
};

/** Furthest ahead an install may be scheduled. */
const maxScheduleAheadMs = 366 * 86_400_000;
/**
 * How long a run may stay RUNNING before it is taken for the work of a dead node and finished by
 * another: far above what dispatching 10,000 operations takes.
 */
export const runningLeaseMs = 10 * 60_000;
/** Most devices one subscription reaches (the command core's bound for one activity). */
const maxDevices = 10_000;

const pendingStatuses: readonly DeviceAppStatus[] = ['INSTALL_PENDING', 'UNINSTALL_PENDING'];

/** Operations whose answer is the device's list of installed apps (generic code, Apple request type). */
const inventoryCodes = new Set(['APPLICATION_LIST', 'InstalledApplicationList']);

/**
 * The package names in an application list: Apple's `InstalledApplicationList` entries
 * (`Identifier`), or the Android agent's list (`package`); undefined when it is neither.
 */
export function installedPackages(data: unknown): Set<string> | undefined {
  const list = Array.isArray(data)
    ? (data as unknown[])
    : data !== null && typeof data === 'object' && Array.isArray((data as Record<string, unknown>)['InstalledApplicationList'])
      ? ((data as Record<string, unknown>)['InstalledApplicationList'] as unknown[])
      : undefined;
  if (!list) return undefined;
  const out = new Set<string>();
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    const e = item as Record<string, unknown>;
    const id = e['Identifier'] ?? e['package'] ?? e['packageName'];
    if (typeof id === 'string') out.add(id);
  }
  return out;
}

function newActivityId(): string {
  return `ACTIVITY_${newCommandId()}`;
}

export interface SubscribeRequest {
  action: SubscriptionAction;
  targetType: SubscriptionTarget;
  targets: string[];
  /** Epoch ms; absent or not in the future = now. */
  scheduledAt?: number;
}

/**
 * The app store (docs/DEVICE-MANAGEMENT.md, "Applications: store"): published apps, and
 * subscriptions — install, update or uninstall a release to devices, users (the devices they own),
 * roles (devices whose `roles` property names one) or groups, now or at a stored time swept by `sweep()` (so a schedule survives a restart). Each
 * run becomes one activity of the release's platform with one operation per device in the command
 * core; the devices' answers are reflected in the applications each device has (event `deviceApp`).
 */
export class AppStore extends EventEmitter<{ deviceApp: [DeviceAppRecord] }> {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private readonly onStatus = (c: CommandRecord) => {
    const work =
      c.name === 'INSTALL_APPLICATION' || c.name === 'UNINSTALL_APPLICATION'
        ? this.reflect(c)
        : inventoryCodes.has(c.name) && c.operationStatus === 'COMPLETED'
          ? this.inventory(c)
          : undefined;
    void work?.catch((err: unknown) => this.log.error({ err, commandId: c.commandId }, 'could not reflect an app operation'));
  };

  constructor(
    readonly publisher: AppPublisher,
    private readonly dm: DeviceManagement,
    private readonly commands: CommandCore,
    private readonly subscriptions: Collection<SubscriptionRecord>,
    private readonly deviceApps: Collection<DeviceAppRecord>,
    private readonly publicBaseUrl: () => string,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    super();
  }

  /** Listens for operation results and sweeps due schedules every `intervalMs`. */
  start(intervalMs: number): void {
    this.commands.on('status', this.onStatus);
    this.timer = setInterval(
      () => void this.sweep().catch((err: unknown) => this.log.error({ err }, 'app schedule sweep failed')),
      intervalMs,
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.commands.off('status', this.onStatus);
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
  }

  /** Published apps with their published releases. */
  async listPublished(orgId: string, filter: Omit<AppFilter, 'state'>, offset: number, limit: number) {
    const found = await this.publisher.list(orgId, { ...filter, published: true }, offset, limit);
    const applications = await Promise.all(
      found.items.map(async (a) => ({
        ...a,
        releases: (await this.publisher.releasesOf(a.id, { state: 'PUBLISHED', ...(filter.platform ? { platform: filter.platform } : {}) }))
          .items,
      })),
    );
    return { applications, count: found.total };
  }

  async subscribe(caller: DmCaller, uuid: string, req: SubscribeRequest) {
    const release = await this.publisher.release(caller.orgId, uuid);
    this.checkState(release, req.action);
    if (req.targets.length === 0) throw new DeviceMgtError(400, 'no targets');
    if (req.targetType === 'group') for (const g of req.targets) await this.dm.groups.get(caller.orgId, g);
    const now = this.clock();
    const at = req.scheduledAt ?? now;
    if (at > now + maxScheduleAheadMs) throw new DeviceMgtError(400, 'scheduledAt: at most a year ahead');
    const sub: SubscriptionRecord = {
      id: randomUUID().replaceAll('-', ''),
      orgId: caller.orgId,
      appId: release.appId,
      releaseUuid: uuid,
      platform: release.platform,
      action: req.action,
      targetType: req.targetType,
      targets: [...new Set(req.targets)],
      scheduledAt: Math.max(at, now),
      state: at > now ? 'SCHEDULED' : 'RUNNING',
      createdBy: caller.clientId,
      createdAt: now,
      ...(at > now ? {} : { claimedAt: now, activityId: newActivityId() }),
    };
    if (sub.state === 'SCHEDULED') {
      await this.subscriptions.insert(sub);
      return this.view(sub);
    }
    // Now: nothing is stored unless it reaches at least one device (bad input changes nothing).
    const devices = await this.resolve(sub, release);
    if (devices.length === 0) throw new DeviceMgtError(400, `the targets name no enrolled ${release.platform} device${this.why(sub)}`);
    await this.subscriptions.insert(sub);
    try {
      return this.view(await this.execute(sub, release, devices));
    } catch (err) {
      // Refused as a whole (e.g. the device type cannot express the operation): the caller gets the error, nothing is kept.
      await this.subscriptions.delete(sub.id, { state: 'RUNNING' });
      throw err;
    }
  }

  async subscription(orgId: string, id: string): Promise<SubscriptionRecord> {
    const s = await this.subscriptions.get(id);
    if (!s || s.orgId !== orgId) throw new DeviceMgtError(404, `subscription ${id} not found`);
    return s;
  }

  listSubscriptions(orgId: string, filter: { releaseUuid?: string; state?: SubscriptionRecord['state'] }, offset: number, limit: number) {
    return this.subscriptions.find(
      { orgId, ...(filter.releaseUuid ? { releaseUuid: filter.releaseUuid } : {}), ...(filter.state ? { state: filter.state } : {}) },
      {
        sort: [
          { field: 'createdAt', order: 'DESC' },
          { field: 'id', order: 'DESC' },
        ],
        offset,
        limit,
      },
    );
  }

  /** Cancels a subscription that has not run yet. */
  async cancel(orgId: string, id: string): Promise<SubscriptionRecord> {
    const s = await this.subscription(orgId, id);
    const updated = await this.subscriptions.update(id, { state: 'CANCELLED', doneAt: this.clock() }, { state: 'SCHEDULED' });
    if (!updated) throw new DeviceMgtError(409, `subscription ${id} is ${s.state}: only a SCHEDULED one can be cancelled`);
    return updated;
  }

  /** The applications of a device as the hub last asked for them and the device answered. */
  async installedOn(orgId: string, type: string, id: string) {
    const d = await this.dm.devices.get(orgId, type, id);
    return (await this.deviceApps.find({ deviceId: d.id }, { sort: [{ field: 'appId', order: 'ASC' }], limit: 1000 })).items;
  }

  /** Per-device status of a release (the devices it was installed on or removed from). */
  async devicesOf(orgId: string, uuid: string, status: DeviceAppStatus | undefined, offset: number, limit: number) {
    await this.publisher.release(orgId, uuid);
    return this.deviceApps.find(
      { releaseUuid: uuid, ...(status ? { status } : {}) },
      {
        sort: [
          { field: 'updatedAt', order: 'DESC' },
          { field: 'id', order: 'ASC' },
        ],
        offset,
        limit,
      },
    );
  }

  /** Runs the subscriptions that are due, then settles app operations whose result was missed (a restart, another node). */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const now = this.clock();
    const due = await this.subscriptions.find(
      { state: 'SCHEDULED', scheduledAt: { $lte: now } },
      { sort: [{ field: 'scheduledAt', order: 'ASC' }], limit: 100 },
    );
    for (const s of due.items) {
      // Claimed once, cluster-wide: the stored state is the condition.
      const claimed = await this.subscriptions.update(
        s.id,
        { state: 'RUNNING', claimedAt: now, activityId: newActivityId() },
        { state: 'SCHEDULED' },
      );
      if (claimed) await this.run(claimed, false);
    }
    // Runs a node left RUNNING when it died: taken over once (the claim time is the condition) and
    // finished under the activity id chosen before anything was dispatched, so no device gets its
    // operation twice.
    const running = await this.subscriptions.find({ state: 'RUNNING' }, { limit: 100 });
    for (const s of running.items) {
      if ((s.claimedAt ?? s.createdAt) > now - runningLeaseMs) continue;
      const taken = await this.subscriptions.update(
        s.id,
        { claimedAt: now, activityId: s.activityId ?? newActivityId() },
        { state: 'RUNNING', claimedAt: s.claimedAt ?? null },
      );
      if (!taken) continue;
      this.log.warn({ subscriptionId: s.id, activityId: taken.activityId }, 'finishing an app subscription a node left running');
      await this.run(taken, true);
    }
    const pending = await this.deviceApps.find(
      { status: { $in: [...pendingStatuses] } },
      { sort: [{ field: 'updatedAt', order: 'ASC' }], limit: 500 },
    );
    await this.settle(pending.items);
  }

  /** Resolves the targets and dispatches a claimed run; a run that cannot go ends FAILED with the reason. */
  private async run(s: SubscriptionRecord, resumed: boolean): Promise<void> {
    try {
      const release = await this.publisher.release(s.orgId, s.releaseUuid);
      this.checkState(release, s.action);
      const devices = await this.resolve(s, release);
      // A resumed update may find every target already marked with this release: the dispatch happened.
      if (devices.length === 0 && !resumed)
        throw new DeviceMgtError(400, `the targets name no enrolled ${release.platform} device${this.why(s)}`);
      await this.execute(s, release, devices);
    } catch (err) {
      const message = err instanceof DeviceMgtError || err instanceof EnosError ? err.message : 'internal error';
      if (!(err instanceof DeviceMgtError)) this.log.error({ err, subscriptionId: s.id }, 'scheduled app subscription failed');
      await this.subscriptions.update(s.id, { state: 'FAILED', error: message, doneAt: this.clock() });
    }
  }

  private checkState(r: ReleaseRecord, action: SubscriptionAction): void {
    if (action === 'uninstall') {
      if (!['PUBLISHED', 'DEPRECATED', 'RETIRED'].includes(r.state))
        throw new DeviceMgtError(409, `release ${r.uuid} is ${r.state}: it was never published, there is nothing to uninstall`);
    } else if (r.state !== 'PUBLISHED') {
      throw new DeviceMgtError(409, `release ${r.uuid} is ${r.state}: only a PUBLISHED release can be installed`);
    }
  }

  private why(s: SubscriptionRecord): string {
    return s.action === 'update' ? ' with another release of the app installed' : '';
  }

  /** The enrolled devices of the release's platform the subscription names, at the time it runs. */
  private async resolve(s: SubscriptionRecord, r: ReleaseRecord): Promise<DeviceRecord[]> {
    const found = new Map<string, DeviceRecord>();
    const add = (d: DeviceRecord | undefined) => {
      if (d && d.orgId === s.orgId && d.type === r.platform && d.status === 'ACTIVE') found.set(d.id, d);
    };
    if (s.targetType === 'devices') {
      for (const id of s.targets) add(await this.dm.devices.byIdentifier(r.platform, id));
    } else if (s.targetType === 'role') {
      // A device's owner's roles are carried by the device (property `roles`), as for policies.
      const wanted = new Set(s.targets);
      for (let offset = 0; found.size <= maxDevices; offset += 1000) {
        const page = await this.dm.devices.list(s.orgId, { type: r.platform }, offset, 1000);
        for (const d of page.items) if (rolesOf(d).some((x) => wanted.has(x))) add(d);
        if (page.items.length < 1000) break;
      }
    } else {
      for (const t of s.targets) {
        const filter = s.targetType === 'user' ? { owner: t, type: r.platform } : { groupId: t, type: r.platform };
        for (let offset = 0; found.size <= maxDevices; offset += 1000) {
          const page = await this.dm.devices.list(s.orgId, filter, offset, 1000);
          page.items.forEach(add);
          if (page.items.length < 1000) break;
        }
      }
    }
    let devices = [...found.values()];
    if (s.action === 'update') {
      // An update reaches the devices that have another release of the app, not every device.
      const has = await Promise.all(devices.map((d) => this.deviceApps.get(`${d.id}:${r.appId}`)));
      devices = devices.filter((_, i) => {
        const a = has[i];
        return a !== undefined && a.status === 'INSTALLED' && a.releaseUuid !== r.uuid;
      });
    }
    if (devices.length > maxDevices) throw new DeviceMgtError(400, `at most ${maxDevices} devices per subscription`);
    return devices;
  }

  /** One activity of the release's platform, one operation per device; each device's app marked pending on it. */
  private async execute(s: SubscriptionRecord, r: ReleaseRecord, devices: DeviceRecord[]): Promise<SubscriptionRecord> {
    const base = this.publicBaseUrl();
    const urls = {
      artifactUrl: r.artifact?.kind === 'url' ? r.artifact.url! : base + this.publisher.artifacts.pathFor('artifact', r.uuid, s.id),
      manifestUrl: base + this.publisher.artifacts.pathFor('manifest.plist', r.uuid, s.id),
    };
    const op = appOperation(s.action, r, urls);
    const activity = await this.dm.addOperation(
      { orgId: s.orgId, clientId: s.createdBy, scopes: [] },
      r.platform,
      {
        deviceIdentifiers: devices.map((d) => d.deviceIdentifier),
        // Entgra sends app installs to Android as profile operations, to Apple as commands.
        operation: { code: op.code, type: r.platform === 'android' ? 'PROFILE' : 'COMMAND', payload: op.payload },
      },
      { activityId: s.activityId ?? newActivityId() },
    );
    const ops = await this.commands.search(s.orgId, { activityId: activity.activityId }, { limit: maxDevices });
    const byDevice = new Map(devices.map((d) => [d.id, d]));
    for (const c of ops.items) {
      if (byDevice.has(c.assetId)) continue;
      // Resumed: a device whose operation the dead node issued (its record may not be written yet).
      const d = await this.dm.devices.byId(c.assetId).catch(() => undefined);
      if (d && d.orgId === s.orgId) byDevice.set(d.id, d);
    }
    const now = this.clock();
    const written: DeviceAppRecord[] = [];
    for (const c of ops.items) {
      const d = byDevice.get(c.assetId);
      if (!d) continue;
      const rec: DeviceAppRecord = {
        id: `${d.id}:${r.appId}`,
        orgId: s.orgId,
        deviceId: d.id,
        deviceType: d.type,
        deviceIdentifier: d.deviceIdentifier,
        appId: r.appId,
        releaseUuid: r.uuid,
        packageName: r.packageName,
        version: r.version,
        status: s.action === 'uninstall' ? 'UNINSTALL_PENDING' : 'INSTALL_PENDING',
        commandId: c.commandId,
        subscriptionId: s.id,
        updatedAt: now,
      };
      await this.put(rec);
      written.push(rec);
    }
    const done = await this.subscriptions.update(s.id, { state: 'DONE', activityId: activity.activityId, doneAt: now });
    // A device may have answered before its record was written: settle those now.
    await this.settle(written);
    return done ?? { ...s, state: 'DONE', activityId: activity.activityId, doneAt: now };
  }

  private async put(rec: DeviceAppRecord): Promise<void> {
    try {
      await this.deviceApps.insert(rec);
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
      const { id, ...rest } = rec;
      await this.deviceApps.unset(id, ['error']);
      await this.deviceApps.update(id, rest);
    }
  }

  private async settle(records: DeviceAppRecord[]): Promise<void> {
    for (const rec of records) {
      const c = await this.commands.get(rec.orgId, rec.commandId).catch(() => undefined);
      if (!c) {
        await this.apply(rec, 'ERROR', 'the operation is no longer known');
        continue;
      }
      await this.reflect(c);
    }
  }

  /** A device's answer to an app operation: the device's app becomes installed, removed or failed. */
  private async reflect(c: CommandRecord): Promise<void> {
    const rec = await this.deviceApps.findOne({ commandId: c.commandId });
    if (!rec) return;
    const error = c.result?.error ?? c.result?.data ?? c.reply?.data;
    await this.apply(rec, c.operationStatus ?? 'PENDING', error);
  }

  /**
   * A device's list of installed apps: an app the hub installed that is missing was removed on the
   * device (UNINSTALLED); one it removed or failed to install that is present is INSTALLED. Apps
   * with an operation in flight, and lists asked for before the last change, are left alone; so is
   * an Apple list narrowed to some Identifiers.
   */
  private async inventory(c: CommandRecord): Promise<void> {
    if (c.params['Identifiers'] !== undefined) return;
    const present = installedPackages(c.result?.data ?? c.reply?.data);
    if (!present) return;
    const records = await this.deviceApps.find({ deviceId: c.assetId }, { limit: 1000 });
    for (const rec of records.items) {
      if (pendingStatuses.includes(rec.status) || c.createdAt <= rec.updatedAt) continue;
      const has = present.has(rec.packageName);
      const next: DeviceAppStatus | undefined = has
        ? rec.status === 'INSTALLED'
          ? undefined
          : 'INSTALLED'
        : rec.status === 'INSTALLED'
          ? 'UNINSTALLED'
          : undefined;
      if (!next) continue;
      const updated = await this.deviceApps.update(
        rec.id,
        { status: next, updatedAt: this.clock() },
        { commandId: rec.commandId, status: rec.status },
      );
      if (updated) this.emit('deviceApp', updated);
    }
  }

  private async apply(rec: DeviceAppRecord, status: OperationStatus, error: unknown): Promise<void> {
    const install = rec.status === 'INSTALL_PENDING';
    if (!pendingStatuses.includes(rec.status)) return;
    let next: DeviceAppStatus;
    if (status === 'COMPLETED') next = install ? 'INSTALLED' : 'UNINSTALLED';
    else if (status === 'ERROR' || status === 'TIMEOUT' || status === 'REPEATED') next = install ? 'INSTALL_FAILED' : 'UNINSTALL_FAILED';
    else return;
    const set: Partial<DeviceAppRecord> = { status: next, updatedAt: this.clock() };
    if (next.endsWith('FAILED') && error !== undefined) set.error = error;
    // Only this operation's answer settles the record (a newer subscription may have replaced it).
    const updated = await this.deviceApps.update(rec.id, set, { commandId: rec.commandId, status: rec.status });
    if (updated) this.emit('deviceApp', updated);
  }

  private view(s: SubscriptionRecord) {
    return s;
  }
}
