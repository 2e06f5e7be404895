import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CommandCore } from '../../commands/command-core.js';
import { openStatuses, type CommandRecord } from '../../commands/records.js';
import type { DeviceDirectory } from '../device-directory.js';
import type { PolicyPlatform } from './platforms.js';
import { reconcile, viewOfPublished, type PolicyOperations } from './policy-publisher.js';
import type { PolicyStore } from './policy-store.js';
import type { ComplianceFeature, ComplianceRecord, PolicyRecord, PublishedPolicy } from './records.js';

export interface PolicyMonitorDeps {
  store: PolicyStore;
  devices: DeviceDirectory;
  commands: CommandCore;
  ops: PolicyOperations;
  platforms: ReadonlyMap<string, PolicyPlatform>;
  log: Logger;
  clock: () => number;
  /** Time between monitoring runs (HUB_POLICY_MONITOR_SECONDS × 1000). */
  frequencyMs: number;
}

const by = 'policy-monitor';

/** What one run did (also the answer of a run started by hand). */
export interface MonitorRun {
  ran: boolean;
  evaluated: number;
  nonCompliant: number;
  requested: number;
  corrective: number;
  applied: number;
}

const sameFailures = (a: ComplianceFeature[], b: ComplianceFeature[]) =>
  a
    .filter((f) => !f.compliance)
    .map((f) => f.featureCode)
    .sort()
    .join() ===
  b
    .filter((f) => !f.compliance)
    .map((f) => f.featureCode)
    .sort()
    .join();

/**
 * Policy monitoring (docs/DEVICE-MANAGEMENT.md, "Policies: monitoring"). A run is due every
 * `frequencyMs` by the stored schedule (so a restart keeps the rhythm, and in a cluster one node
 * claims each run). A run:
 *   1. brings devices in line with their effective policy (devices enrolled or regrouped since);
 *   2. reads the answer to the MONITOR request of the previous run, per device: compliant, or
 *      non-compliant → a notification record and a warning log line on a new failure; in ENFORCE
 *      the corrective operation (the bundle again), in BLOCK the enrolment is blocked;
 *   3. sends the next MONITOR request (none while the previous one is still open).
 */
export class PolicyMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<MonitorRun> | undefined;

  constructor(private readonly deps: PolicyMonitorDeps) {}

  /** Creates the schedule on first start (first run one period from now) and checks it regularly. */
  async start(checkEveryMs = Math.min(30_000, this.deps.frequencyMs)): Promise<void> {
    await this.deps.store.ensureSchedule(this.deps.clock() + this.deps.frequencyMs);
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.deps.log.error({ err }, 'policy monitoring run failed'));
    }, checkEveryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Runs the monitoring round if it is due by the stored schedule and this node claims it. */
  async tick(): Promise<MonitorRun> {
    if (this.running) return this.running;
    this.running = this.tickOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async tickOnce(): Promise<MonitorRun> {
    const now = this.deps.clock();
    const schedule = await this.deps.store.ensureSchedule(now + this.deps.frequencyMs);
    const idle: MonitorRun = { ran: false, evaluated: 0, nonCompliant: 0, requested: 0, corrective: 0, applied: 0 };
    if (now < schedule.nextRunAt) return idle;
    // Next run one period after this one (a hub down for longer runs once, not once per missed period).
    if (!(await this.deps.store.claimRun(schedule.nextRunAt, now, now + this.deps.frequencyMs))) return idle;
    return this.run();
  }

  /** One monitoring round, now. */
  async run(): Promise<MonitorRun> {
    const out: MonitorRun = { ran: true, evaluated: 0, nonCompliant: 0, requested: 0, corrective: 0, applied: 0 };
    out.applied = await this.reconcileAll();
    const policies = new Map<string, PolicyRecord | undefined>();
    const monitorBatches = new Map<string, { rec: ComplianceRecord; policy: PolicyRecord & { published: PublishedPolicy } }[]>();
    const correctiveBatches = new Map<string, { rec: ComplianceRecord; policy: PolicyRecord & { published: PublishedPolicy } }[]>();
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.store.compliancePage(after, 500);
      for (const rec of page.items) {
        const platform = this.deps.platforms.get(rec.deviceType);
        if (!platform) continue;
        const device = await this.deps.devices.byId(rec.deviceId);
        if (!device || device.status === 'REMOVED') {
          await this.deps.store.deleteCompliance(rec.deviceId);
          continue;
        }
        if (device.status !== 'ACTIVE') continue;
        if (!policies.has(rec.policyId)) policies.set(rec.policyId, await this.deps.store.policy(rec.orgId, rec.policyId));
        const policy = policies.get(rec.policyId);
        if (!policy?.published) continue;
        const withPublished = { ...policy, published: policy.published };
        const next = await this.evaluate(rec, platform, withPublished, out);
        const key = `${rec.orgId}\0${rec.deviceType}\0${rec.policyId}`;
        if (next.wantsCorrective)
          correctiveBatches.set(key, [...(correctiveBatches.get(key) ?? []), { rec: next.rec, policy: withPublished }]);
        if (next.wantsMonitor) monitorBatches.set(key, [...(monitorBatches.get(key) ?? []), { rec: next.rec, policy: withPublished }]);
      }
      if (page.items.length < 500) break;
      after = page.items[page.items.length - 1]!.deviceId;
    }
    out.corrective = await this.send(correctiveBatches, (p, pol) => p.bundle(viewOfPublished(pol)), 'correctiveCommandId');
    out.requested = await this.send(monitorBatches, (p, pol) => p.monitor(viewOfPublished(pol)), 'monitorCommandId');
    this.deps.log.info(out, 'policy monitoring run');
    return out;
  }

  private async reconcileAll(): Promise<number> {
    const seen = new Set<string>();
    let applied = 0;
    // Organizations holding policies: taken from the compliance records and the policies themselves.
    for (const [orgId, deviceType] of await this.orgTypes()) {
      const key = `${orgId}\0${deviceType}`;
      const platform = this.deps.platforms.get(deviceType);
      if (seen.has(key) || !platform) continue;
      seen.add(key);
      applied += (await reconcile(this.deps, platform, orgId, by)).applied;
    }
    return applied;
  }

  private async orgTypes(): Promise<[string, string][]> {
    const out: [string, string][] = [];
    for (const t of this.deps.platforms.keys()) {
      for (const orgId of await this.deps.store.orgsWithPublishedPolicies(t)) out.push([orgId, t]);
    }
    return out;
  }

  /** Reads the previous MONITOR answer of one device and decides what it gets next. */
  private async evaluate(
    rec: ComplianceRecord,
    platform: PolicyPlatform,
    policy: PolicyRecord & { published: PublishedPolicy },
    out: MonitorRun,
  ): Promise<{ rec: ComplianceRecord; wantsMonitor: boolean; wantsCorrective: boolean }> {
    const now = this.deps.clock();
    const monitor = rec.monitorCommandId ? await this.command(rec.orgId, rec.monitorCommandId) : undefined;
    if (monitor && openStatuses.includes(monitor.status)) {
      // Still waiting for the device: no second request (Entgra NO_REPEAT); count the miss.
      const set = { attempts: rec.attempts + 1, updatedAt: now };
      await this.deps.store.updateCompliance(rec.deviceId, set);
      return { rec: { ...rec, ...set }, wantsMonitor: false, wantsCorrective: false };
    }
    if (!monitor) return { rec, wantsMonitor: true, wantsCorrective: false };
    const answer = monitor.result?.data ?? monitor.reply?.data;
    const ok = monitor.status === 'acknowledged' || (monitor.status === 'replied' && monitor.reply?.code === 200);
    const features = ok ? platform.evaluate(viewOfPublished(policy), answer) : undefined;
    if (!features) {
      const set = { attempts: rec.attempts + 1, lastFailedAt: now, updatedAt: now };
      await this.deps.store.updateCompliance(rec.deviceId, set);
      return { rec: { ...rec, ...set }, wantsMonitor: true, wantsCorrective: false };
    }
    out.evaluated++;
    const compliant = features.every((f) => f.compliance);
    const status = compliant ? 'COMPLIANT' : 'NON_COMPLIANT';
    const set: Partial<ComplianceRecord> = { status, features, attempts: 0, lastSucceededAt: now, updatedAt: now };
    const updated = { ...rec, ...set };
    await this.deps.store.updateCompliance(rec.deviceId, set);
    if (compliant) return { rec: updated, wantsMonitor: true, wantsCorrective: false };
    out.nonCompliant++;
    const mode = policy.published.compliance;
    if (rec.status !== 'NON_COMPLIANT' || !sameFailures(rec.features, features)) await this.notify(updated, mode);
    if (mode === 'BLOCK') {
      await this.deps.devices.update(rec.orgId, rec.deviceType, rec.deviceIdentifier, { status: 'BLOCKED' });
      return { rec: updated, wantsMonitor: false, wantsCorrective: false };
    }
    let wantsCorrective = false;
    if (mode === 'ENFORCE') {
      const previous = rec.correctiveCommandId ? await this.command(rec.orgId, rec.correctiveCommandId) : undefined;
      wantsCorrective = !previous || !openStatuses.includes(previous.status);
    }
    return { rec: updated, wantsMonitor: true, wantsCorrective };
  }

  private async notify(rec: ComplianceRecord, mode: PolicyRecord['compliance']): Promise<void> {
    const failed = rec.features.filter((f) => !f.compliance);
    await this.deps.store.addNotification({
      id: randomUUID(),
      orgId: rec.orgId,
      deviceId: rec.deviceId,
      deviceType: rec.deviceType,
      deviceIdentifier: rec.deviceIdentifier,
      policyId: rec.policyId,
      compliance: mode,
      status: 'NEW',
      description: `device ${rec.deviceType}/${rec.deviceIdentifier} does not comply with policy ${rec.policyId}: ${failed.map((f) => f.featureCode).join(', ')}`,
      features: failed,
      createdAt: this.deps.clock(),
    });
    this.deps.log.warn(
      {
        orgId: rec.orgId,
        deviceType: rec.deviceType,
        deviceIdentifier: rec.deviceIdentifier,
        policyId: rec.policyId,
        compliance: mode,
        features: failed.map((f) => f.featureCode),
      },
      'device not compliant with its policy',
    );
  }

  private async command(orgId: string, commandId: string): Promise<CommandRecord | undefined> {
    try {
      return await this.deps.commands.get(orgId, commandId);
    } catch {
      return undefined;
    }
  }

  private async send(
    batches: Map<string, { rec: ComplianceRecord; policy: PolicyRecord & { published: PublishedPolicy } }[]>,
    operation: (p: PolicyPlatform, policy: PolicyRecord & { published: PublishedPolicy }) => ReturnType<PolicyPlatform['monitor']>,
    field: 'monitorCommandId' | 'correctiveCommandId',
  ): Promise<number> {
    let sent = 0;
    for (const batch of batches.values()) {
      const { rec: first, policy } = batch[0]!;
      const platform = this.deps.platforms.get(first.deviceType)!;
      const ids = await this.deps.ops.send(
        first.orgId,
        by,
        first.deviceType,
        operation(platform, policy),
        batch.map((b) => b.rec.deviceIdentifier),
      );
      const now = this.deps.clock();
      for (const { rec } of batch) {
        const commandId = ids.get(rec.deviceIdentifier);
        if (!commandId) continue;
        await this.deps.store.updateCompliance(
          rec.deviceId,
          field === 'monitorCommandId' ? { monitorCommandId: commandId, lastRequestedAt: now } : { correctiveCommandId: commandId },
        );
        sent++;
      }
    }
    return sent;
  }
}
