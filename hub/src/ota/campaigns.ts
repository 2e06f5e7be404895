import { randomUUID } from 'node:crypto';
import { EnosError, codes, newCommandId, topics } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { CommandChannel } from '../commands/channel.js';
import { PendingWork } from '../commands/pending-work.js';
import type { DeviceIdentity } from '../sessions/sessions.js';
import type { Registry } from '../registry/registry.js';
import type { MqttWire } from '../device-types/enos-mqtt/render.js';
import type { Collection, Filter } from '../store/port.js';
import type { DownloadUrls } from './download-urls.js';
import type { Firmwares } from './firmwares.js';
import {
  ACTIVE_TASK,
  failureReasons,
  type DeviceVersionRecord,
  type FirmwareRecord,
  type JobFilter,
  type OtaJobRecord,
  type OtaTaskRecord,
  type TaskStatus,
} from './records.js';

export interface NewJob {
  firmwareId: string;
  name?: string;
  filter?: JobFilter;
  ratePerMinute?: number;
}

/** What a device is told on `ota/device/upgrade` and answered on `ota/device/getversion`. */
export interface UpgradeOffer {
  version: string;
  sign: string;
  signMethod: string;
  fileUrl: string;
  fileSize: number;
}

export interface OtaCollections {
  jobs: Collection<OtaJobRecord>;
  tasks: Collection<OtaTaskRecord>;
  versions: Collection<DeviceVersionRecord>;
}

/** Devices one job may target. */
export const MAX_JOB_DEVICES = 10_000;
const WINDOW_MS = 60_000;

/**
 * Upgrade campaigns (docs/PROTOCOL.md §7.3): a job targets a product's devices
 * (version filter, tags, device keys) with a firmware; each device gets a task. Reachable devices
 * are told on `ota/device/upgrade` at the job's rollout rate; the others when they next come online.
 * Progress and the reported version move the task to its final state; the job is done when no
 * task is active. Delivery goes through the command channel, so in a cluster it reaches the node
 * holding the device's session.
 */
export class OtaCampaigns {
  /** Notification times per job in the last minute (rollout rate). */
  private readonly sent = new Map<string, number[]>();
  private readonly pumps = new Map<string, Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private unwatch: () => void = () => undefined;
  private stopped = false;
  /** Delivery: set by start(), once the broker and the command channel exist. */
  private channel!: CommandChannel;
  /** Single writer only: devices (`pk/dk`) that may have an active task (commands/pending-work.ts). */
  private active: PendingWork | undefined;

  constructor(
    private readonly db: OtaCollections,
    private readonly registry: Registry,
    private readonly firmwares: Firmwares,
    private readonly urls: DownloadUrls,
    private readonly publicBaseUrl: () => string,
    private readonly log: Logger,
    private readonly clock: () => number,
  ) {}

  /**
   * Starts delivering through the channel: devices coming online, running jobs resumed.
   * `singleWriter`: this process is the only one writing OTA jobs and tasks (no cluster), so the
   * devices with an active task are tracked in memory and a device coming online without one costs
   * a lookup instead of two store queries (docs/BENCHMARKS.md, "CONNECT and device GET: where the time goes").
   */
  async start(channel: CommandChannel, options: { singleWriter?: boolean } = {}): Promise<void> {
    this.channel = channel;
    if (options.singleWriter) {
      const active = new PendingWork();
      this.active = active;
      const tasks = await this.db.tasks.find({ status: { $in: ACTIVE_TASK } });
      for (const t of tasks.items) active.mark(deviceOf(t));
    }
    this.unwatch = this.channel.onReachable(
      (pk, dk) =>
        void this.deviceReachable(pk, dk).catch((err: unknown) =>
          this.log.error({ err, pk, dk }, 'ota: notifying a device that came online failed'),
        ),
    );
    const running = await this.db.jobs.find({ status: 'running' }, { limit: 1000 });
    for (const j of running.items) this.pump(j.jobId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch();
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([...this.pumps.values()]);
  }

  async createJob(
    orgId: string,
    input: NewJob,
  ): Promise<{ job: OtaJobRecord; targets: number; skipped: { deviceKey: string; reason: string }[] }> {
    const firmware = await this.firmwares.require(orgId, input.firmwareId);
    const filter = input.filter ?? {};
    const and: Filter[] = [{ productKey: firmware.productKey }, { status: { $ne: 'disabled' } }];
    if (filter.deviceKeys?.length) and.push({ deviceKey: { $in: filter.deviceKeys } });
    for (const [k, v] of Object.entries(filter.tags ?? {})) and.push({ [`deviceTags.${k}`]: v });
    const devices = await this.registry.devices.search(orgId, { $and: and }, { limit: MAX_JOB_DEVICES + 1 });
    if (devices.total > MAX_JOB_DEVICES)
      throw new EnosError(
        codes.invalidArgument,
        `Invalid Argument filter: ${devices.total} devices match, a job targets at most ${MAX_JOB_DEVICES}`,
      );

    const now = this.clock();
    const job: OtaJobRecord = {
      jobId: randomUUID().replaceAll('-', ''),
      orgId,
      productKey: firmware.productKey,
      firmwareId: firmware.firmwareId,
      targetVersion: firmware.version,
      name: input.name ?? `upgrade to ${firmware.version}`,
      filter,
      ratePerMinute: input.ratePerMinute ?? 0,
      status: 'running',
      createTime: now,
    };
    const tasks: OtaTaskRecord[] = [];
    const skipped: { deviceKey: string; reason: string }[] = [];
    for (const d of devices.items) {
      const current = (await this.db.versions.get(d.assetId))?.version;
      if (filter.fromVersions?.length && (current === undefined || !filter.fromVersions.includes(current))) continue;
      if (current === firmware.version) {
        skipped.push({ deviceKey: d.deviceKey, reason: `already at ${firmware.version}` });
        continue;
      }
      const busy = await this.db.tasks.findOne({ assetId: d.assetId, status: { $in: ACTIVE_TASK } });
      if (busy) {
        skipped.push({ deviceKey: d.deviceKey, reason: `in job ${busy.jobId}` });
        continue;
      }
      const t: OtaTaskRecord = {
        taskId: `${job.jobId}.${d.assetId}`,
        jobId: job.jobId,
        orgId,
        assetId: d.assetId,
        productKey: d.productKey,
        deviceKey: d.deviceKey,
        status: 'waiting',
        updateTime: now,
      };
      if (current !== undefined) t.fromVersion = current;
      tasks.push(t);
    }
    if (tasks.length === 0) {
      job.status = 'done';
      job.finishTime = now;
    }
    await this.db.jobs.insert(job);
    for (const t of tasks) this.active?.mark(deviceOf(t));
    await this.db.tasks.insertMany(tasks);
    if (job.status === 'running') this.pump(job.jobId);
    return { job, targets: tasks.length, skipped };
  }

  async requireJob(orgId: string, jobId: string): Promise<OtaJobRecord> {
    const j = await this.db.jobs.get(jobId);
    if (!j || j.orgId !== orgId) throw new EnosError(codes.notFound, `Object not found: OTA job ${jobId}`);
    return j;
  }

  async jobSummary(orgId: string, jobId: string): Promise<OtaJobRecord & { counts: Record<TaskStatus, number> }> {
    const job = await this.requireJob(orgId, jobId);
    const statuses: TaskStatus[] = ['waiting', 'notified', 'upgrading', 'succeeded', 'failed', 'cancelled'];
    const counts = Object.fromEntries(
      await Promise.all(statuses.map(async (s) => [s, await this.db.tasks.count({ jobId, status: s })])),
    ) as Record<TaskStatus, number>;
    return { ...job, counts };
  }

  async tasks(orgId: string, jobId: string, status?: TaskStatus): Promise<OtaTaskRecord[]> {
    await this.requireJob(orgId, jobId);
    return (
      await this.db.tasks.find(status ? { jobId, status } : { jobId }, {
        sort: [{ field: 'deviceKey', order: 'ASC' }],
        limit: MAX_JOB_DEVICES,
      })
    ).items;
  }

  /** Stops a job: tasks not finished are cancelled (a device already flashing cannot be stopped). */
  async cancel(orgId: string, jobId: string): Promise<OtaJobRecord> {
    const job = await this.requireJob(orgId, jobId);
    if (job.status !== 'running') return job;
    const now = this.clock();
    const updated = (await this.db.jobs.update(jobId, { status: 'cancelled', finishTime: now }, { status: 'running' })) ?? job;
    const active = await this.db.tasks.find({ jobId, status: { $in: ACTIVE_TASK } }, { limit: MAX_JOB_DEVICES });
    for (const t of active.items) await this.db.tasks.update(t.taskId, { status: 'cancelled', updateTime: now });
    return updated;
  }

  // ---- device side (the four OTA topics) ----

  /** `ota.device.inform`: the device's firmware version now; finishes its task when it is the target. */
  async inform(device: DeviceIdentity, version: string): Promise<void> {
    const now = this.clock();
    const record: DeviceVersionRecord = { assetId: device.assetId, orgId: device.orgId, productKey: device.productKey, version, time: now };
    if (!(await this.db.versions.update(device.assetId, { version, time: now }))) await this.db.versions.insert(record);
    const task = await this.activeTask(device.assetId);
    if (!task) return;
    const job = await this.db.jobs.get(task.jobId);
    if (job && job.targetVersion === version && task.status !== 'waiting') {
      await this.db.tasks.update(task.taskId, { status: 'succeeded', step: 100, updateTime: now });
      await this.finishIfDone(task.jobId);
    }
  }

  /** `ota.device.progress`: 0–100, or a failure step −1…−4 (764: no task, 765: not told yet). */
  async progress(device: DeviceIdentity, step: number, desc: string | undefined): Promise<void> {
    const task = await this.activeTask(device.assetId);
    if (!task) throw new EnosError(otaCodes.taskNotFound, 'OTA task not found');
    if (task.status === 'waiting') throw new EnosError(otaCodes.taskNotStarted, 'OTA task not started');
    const now = this.clock();
    const set: Partial<OtaTaskRecord> = { step, updateTime: now };
    if (desc !== undefined) set.desc = desc;
    if (step < 0) {
      set.status = 'failed';
      set.failure = { step, reason: failureReasons[step] ?? 'failed', at: now, ...(desc !== undefined ? { desc } : {}) };
    } else {
      set.status = 'upgrading';
    }
    await this.db.tasks.update(task.taskId, set);
    if (step < 0) await this.finishIfDone(task.jobId);
  }

  /** `ota.device.getversion`: the upgrade offered to this device now, if any. */
  async offerFor(device: DeviceIdentity): Promise<UpgradeOffer[]> {
    const task = await this.activeTask(device.assetId);
    if (!task || task.status === 'waiting') return [];
    const offer = await this.offer(task);
    return offer ? [offer] : [];
  }

  /** `ota.device.request`: the device asks for its pending upgrade; told again if there is one. */
  async request(device: DeviceIdentity): Promise<boolean> {
    const task = await this.activeTask(device.assetId);
    if (!task) return false;
    return this.notify(task, true);
  }

  // ---- delivery ----

  private activeTask(assetId: string): Promise<OtaTaskRecord | undefined> {
    return this.db.tasks.findOne({ assetId, status: { $in: ACTIVE_TASK } });
  }

  private async offer(task: OtaTaskRecord): Promise<UpgradeOffer | undefined> {
    const job = await this.db.jobs.get(task.jobId);
    const fw: FirmwareRecord | undefined = job ? await this.firmwares.get(job.firmwareId) : undefined;
    if (!fw) return undefined;
    return {
      version: fw.version,
      sign: fw.signMethod === 'sha256' ? fw.sha256 : fw.md5,
      signMethod: fw.signMethod,
      fileUrl: this.publicBaseUrl() + this.urls.pathFor(fw.firmwareId, task.assetId),
      fileSize: fw.fileSize,
    };
  }

  /** Pushes `ota.device.upgrade`; marks a waiting task notified. */
  private async notify(task: OtaTaskRecord, again: boolean): Promise<boolean> {
    const offer = await this.offer(task);
    if (!offer) return false;
    const message = { id: newCommandId(this.clock()), version: '1.0', method: 'ota.device.upgrade', params: offer };
    // Marked before sending: a quick device reports progress before the send resolves.
    const mark = !again && task.status === 'waiting';
    if (mark) {
      const now = this.clock();
      if (!(await this.db.tasks.update(task.taskId, { status: 'notified', notifiedAt: now, updateTime: now }, { status: 'waiting' })))
        return false;
    }
    const sent = await this.channel.send(task.productKey, task.deviceKey, {
      topic: topics.otaUpgrade(task.productKey, task.deviceKey),
      message,
    } satisfies MqttWire);
    if (!sent && mark) await this.db.tasks.update(task.taskId, { status: 'waiting', updateTime: this.clock() }, { status: 'notified' });
    return sent;
  }

  private async deviceReachable(productKey: string, deviceKey: string): Promise<void> {
    if (this.stopped) return;
    const key = deviceOf({ productKey, deviceKey });
    if (this.active && !this.active.has(key)) return;
    const stamp = this.active?.stampOf(key);
    const d = await this.registry.devices.byTriple(productKey, deviceKey);
    if (!d) return;
    const task = await this.activeTask(d.assetId);
    if (!task) return this.active?.clear(key, stamp);
    // Told before but reconnected: it may have missed the message, tell it again. Waiting: the job's rate decides.
    if (task.status === 'notified') await this.notify(task, true);
    else if (task.status === 'waiting') this.pump(task.jobId);
  }

  /** Tells the job's waiting, reachable devices, within its rate; one pump per job at a time. */
  private pump(jobId: string): void {
    if (this.stopped) return;
    const previous = this.pumps.get(jobId) ?? Promise.resolve();
    const next = previous
      .then(() => this.pumpOnce(jobId))
      .catch((err: unknown) => this.log.error({ err, jobId }, 'ota: rollout failed'))
      .finally(() => {
        if (this.pumps.get(jobId) === next) this.pumps.delete(jobId);
      });
    this.pumps.set(jobId, next);
  }

  private async pumpOnce(jobId: string): Promise<void> {
    const job = await this.db.jobs.get(jobId);
    if (!job || job.status !== 'running') return;
    const waiting = await this.db.tasks.find(
      { jobId, status: 'waiting' },
      { sort: [{ field: 'deviceKey', order: 'ASC' }], limit: MAX_JOB_DEVICES },
    );
    const sent = (this.sent.get(jobId) ?? []).filter((t) => t > this.clock() - WINDOW_MS);
    this.sent.set(jobId, sent);
    for (const task of waiting.items) {
      if (this.stopped) return;
      if (job.ratePerMinute > 0 && sent.length >= job.ratePerMinute) {
        // Come back when the oldest notification leaves the one-minute window.
        const timer = setTimeout(
          () => {
            this.timers.delete(timer);
            this.pump(jobId);
          },
          sent[0]! + WINDOW_MS - this.clock() + 1,
        );
        timer.unref();
        this.timers.add(timer);
        return;
      }
      if (!(await this.channel.isReachable(task.productKey, task.deviceKey))) continue;
      if (await this.notify(task, false)) sent.push(this.clock());
    }
  }

  private async finishIfDone(jobId: string): Promise<void> {
    const active = await this.db.tasks.count({ jobId, status: { $in: ACTIVE_TASK } });
    if (active === 0) await this.db.jobs.update(jobId, { status: 'done', finishTime: this.clock() }, { status: 'running' });
  }
}

const deviceOf = (t: { productKey: string; deviceKey: string }) => `${t.productKey}/${t.deviceKey}`;

/** OTA reply codes of `ota.device.progress` (docs/ENOS-PROTOCOL.md §4.1). */
export const otaCodes = { taskNotFound: 764, taskNotStarted: 765 } as const;
