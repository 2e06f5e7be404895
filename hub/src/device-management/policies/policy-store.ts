import type { Collection, CollectionSpec, Filter, FindResult, Store } from '../../store/port.js';
import { DuplicateKeyError } from '../../store/port.js';
import type { ComplianceRecord, ComplianceStatus, MonitorScheduleRecord, PolicyNotificationRecord, PolicyRecord } from './records.js';

export const policySpecs = {
  policies: {
    name: 'dmPolicies',
    key: 'id',
    unique: [{ name: 'orgName', fields: ['orgId', 'policyName'] }],
    indexes: ['orgId', 'deviceType'],
  },
  compliance: { name: 'dmPolicyCompliance', key: 'deviceId', indexes: ['orgId', 'policyId', 'status'] },
  notifications: { name: 'dmPolicyNotifications', key: 'id', indexes: ['orgId', 'deviceId'] },
  schedule: { name: 'dmPolicySchedule', key: 'id' },
} satisfies Record<string, CollectionSpec>;

const byCreation = [
  { field: 'createdAt', order: 'ASC' },
  { field: 'id', order: 'ASC' },
] as const;

/**
 * Where policies, per-device compliance, non-compliance notifications and the monitoring schedule
 * live (docs/DEVICE-MANAGEMENT.md, "Policies"). Written once against the store port, so every
 * adapter (embedded, MongoDB) holds them alike: hub/test/policy-store.contract.test.ts.
 */
export class PolicyStore {
  private constructor(
    private readonly policies: Collection<PolicyRecord>,
    private readonly compliance: Collection<ComplianceRecord>,
    private readonly notifications: Collection<PolicyNotificationRecord>,
    private readonly schedule: Collection<MonitorScheduleRecord>,
  ) {}

  static async open(store: Store): Promise<PolicyStore> {
    return new PolicyStore(
      await store.collection<PolicyRecord>(policySpecs.policies),
      await store.collection<ComplianceRecord>(policySpecs.compliance),
      await store.collection<PolicyNotificationRecord>(policySpecs.notifications),
      await store.collection<MonitorScheduleRecord>(policySpecs.schedule),
    );
  }

  /** Throws DuplicateKeyError (index orgName) for a name the organization already uses. */
  insertPolicy(p: PolicyRecord): Promise<void> {
    return this.policies.insert(p);
  }

  async policy(orgId: string, id: string): Promise<PolicyRecord | undefined> {
    const p = await this.policies.get(id);
    return p && p.orgId === orgId ? p : undefined;
  }

  /** Updates a policy of this organization; undefined when there is none. */
  updatePolicy(orgId: string, id: string, set: Partial<PolicyRecord>): Promise<PolicyRecord | undefined> {
    return this.policies.update(id, set, { orgId });
  }

  deletePolicy(orgId: string, id: string): Promise<boolean> {
    return this.policies.delete(id, { orgId });
  }

  listPolicies(
    orgId: string,
    filter: { deviceType?: string; active?: boolean; name?: string },
    offset: number,
    limit: number,
  ): Promise<FindResult<PolicyRecord>> {
    const f: Filter = { orgId };
    if (filter.deviceType) f.deviceType = filter.deviceType;
    if (filter.active !== undefined) f.active = filter.active;
    if (filter.name) f.policyName = { $prefix: filter.name };
    return this.policies.find(f, { sort: [...byCreation], offset, limit });
  }

  /** Every policy of one organization and device type (bounded: at most 1000 policies per type). */
  async policiesOfType(orgId: string, deviceType: string): Promise<PolicyRecord[]> {
    return (await this.policies.find({ orgId, deviceType }, { sort: [...byCreation], limit: 1000 })).items;
  }

  /** Organizations with at least one published, active policy for this device type (the monitoring run's scope). */
  async orgsWithPublishedPolicies(deviceType: string): Promise<string[]> {
    const found = await this.policies.find(
      { deviceType, 'published.active': true },
      { sort: [{ field: 'orgId', order: 'ASC' }], limit: 10_000 },
    );
    return [...new Set(found.items.map((p) => p.orgId))];
  }

  complianceOf(deviceId: string): Promise<ComplianceRecord | undefined> {
    return this.compliance.get(deviceId);
  }

  /** Inserts or replaces a device's compliance record. */
  async putCompliance(rec: ComplianceRecord): Promise<void> {
    const { deviceId, ...rest } = rec;
    const existing = await this.compliance.get(deviceId);
    if (!existing) {
      try {
        await this.compliance.insert(rec);
        return;
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
      }
    }
    const drop = (
      ['bundleCommandId', 'monitorCommandId', 'correctiveCommandId', 'lastRequestedAt', 'lastSucceededAt', 'lastFailedAt'] as const
    ).filter((k) => existing?.[k] !== undefined && rec[k] === undefined);
    if (drop.length > 0) await this.compliance.unset(deviceId, drop);
    await this.compliance.update(deviceId, rest);
  }

  updateCompliance(deviceId: string, set: Partial<ComplianceRecord>): Promise<ComplianceRecord | undefined> {
    return this.compliance.update(deviceId, set);
  }

  deleteCompliance(deviceId: string): Promise<boolean> {
    return this.compliance.delete(deviceId);
  }

  /** An organization's devices by compliance status (Entgra GET /devices/compliance/{status}). */
  listCompliance(orgId: string, filter: { status?: ComplianceStatus; policyId?: string }, offset: number, limit: number) {
    const f: Filter = { orgId };
    if (filter.status) f.status = filter.status;
    if (filter.policyId) f.policyId = filter.policyId;
    return this.compliance.find(f, {
      sort: [
        { field: 'appliedAt', order: 'ASC' },
        { field: 'deviceId', order: 'ASC' },
      ],
      offset,
      limit,
    });
  }

  /** Compliance records of every organization in a stable order, a page at a time (the monitoring run). */
  compliancePage(afterDeviceId: string | undefined, limit: number): Promise<FindResult<ComplianceRecord>> {
    return this.compliance.find(afterDeviceId === undefined ? {} : { deviceId: { $gt: afterDeviceId } }, {
      sort: [{ field: 'deviceId', order: 'ASC' }],
      limit,
    });
  }

  addNotification(n: PolicyNotificationRecord): Promise<void> {
    return this.notifications.insert(n);
  }

  listNotifications(orgId: string, filter: { deviceId?: string }, offset: number, limit: number) {
    const f: Filter = { orgId };
    if (filter.deviceId) f.deviceId = filter.deviceId;
    return this.notifications.find(f, {
      sort: [
        { field: 'createdAt', order: 'DESC' },
        { field: 'id', order: 'DESC' },
      ],
      offset,
      limit,
    });
  }

  /** The stored schedule; created with the first run due at `firstRunAt` when there is none. */
  async ensureSchedule(firstRunAt: number): Promise<MonitorScheduleRecord> {
    const found = await this.schedule.get('policy-monitor');
    if (found) return found;
    const rec: MonitorScheduleRecord = { id: 'policy-monitor', nextRunAt: firstRunAt };
    try {
      await this.schedule.insert(rec);
      return rec;
    } catch (err) {
      if (err instanceof DuplicateKeyError) return (await this.schedule.get('policy-monitor'))!;
      throw err;
    }
  }

  /**
   * Claims the run due at `due`: moves the schedule to `next` only if nobody moved it first.
   * True for exactly one caller (one node of a cluster runs each monitoring round).
   */
  async claimRun(due: number, now: number, next: number): Promise<boolean> {
    return (await this.schedule.update('policy-monitor', { nextRunAt: next, lastRunAt: now }, { nextRunAt: due })) !== undefined;
  }
}
