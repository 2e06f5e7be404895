import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DeviceDirectory } from '../device-directory.js';
import { DeviceMgtError } from '../errors.js';
import type { DeviceGroups } from '../groups.js';
import type { DmCaller } from '../oauth.js';
import { ownerships, type Ownership } from '../records.js';
import { DuplicateKeyError } from '../../store/port.js';
import { effectivePolicy } from './effective-policy.js';
import type { PolicyPlatform } from './platforms.js';
import { reconcile, type PolicyOperations } from './policy-publisher.js';
import type { PolicyStore } from './policy-store.js';
import {
  complianceModes,
  type ComplianceMode,
  type ComplianceStatus,
  type PolicyAssignment,
  type PolicyRecord,
  type ProfileFeature,
} from './records.js';

/** A policy as the REST takes it (Entgra PolicyWrapper, trimmed to what the hub acts on). */
export interface PolicyInput {
  policyName: string;
  description?: string;
  compliance?: ComplianceMode;
  ownershipType?: Ownership | 'ANY';
  profile: { profileName?: string; deviceType: string; profileFeaturesList: { featureCode: string; content?: Record<string, unknown> }[] };
  deviceIdentifiers?: (string | { id: string; type?: string })[];
  deviceGroups?: string[];
  users?: string[];
  roles?: string[];
}

export interface PoliciesDeps {
  store: PolicyStore;
  devices: DeviceDirectory;
  groups: DeviceGroups;
  ops: PolicyOperations;
  platforms: ReadonlyMap<string, PolicyPlatform>;
  log: Logger;
  clock: () => number;
}

/**
 * Policy management (docs/DEVICE-MANAGEMENT.md, "Policies"): profiles of features per device type,
 * assigned to devices, groups, users or roles, ordered by priority; changes reach devices at
 * apply-changes. Every call is scoped to the caller's organization; a refused call changes nothing.
 */
export class Policies {
  constructor(private readonly deps: PoliciesDeps) {}

  private platform(deviceType: string): PolicyPlatform {
    const p = this.deps.platforms.get(deviceType);
    if (!p)
      throw new DeviceMgtError(
        400,
        `device type ${deviceType} takes no policies (${[...this.deps.platforms.keys()].join(', ') || 'none loaded'})`,
      );
    return p;
  }

  /** Checks an input against the organization and the device type; throws 400 before anything is stored. */
  private async parse(orgId: string, input: PolicyInput) {
    const platform = this.platform(input.profile.deviceType);
    const features: ProfileFeature[] = [];
    for (const f of input.profile.profileFeaturesList) {
      if (features.some((g) => g.featureCode === f.featureCode)) throw new DeviceMgtError(400, `feature ${f.featureCode} appears twice`);
      const feature = { featureCode: f.featureCode, content: f.content ?? {} };
      const why = platform.refuse(feature);
      if (why) throw new DeviceMgtError(400, why);
      features.push(feature);
    }
    if (features.length === 0) throw new DeviceMgtError(400, 'profile.profileFeaturesList: at least one feature');
    const compliance = input.compliance ?? 'ENFORCE';
    if (!complianceModes.includes(compliance)) throw new DeviceMgtError(400, `compliance: one of ${complianceModes.join(', ')}`);
    const ownershipType = input.ownershipType ?? 'ANY';
    if (ownershipType !== 'ANY' && !ownerships.includes(ownershipType))
      throw new DeviceMgtError(400, `ownershipType: ANY or one of ${ownerships.join(', ')}`);
    const deviceIdentifiers: string[] = [];
    for (const d of input.deviceIdentifiers ?? []) {
      const id = typeof d === 'string' ? d : d.id;
      if (typeof d !== 'string' && d.type !== undefined && d.type !== platform.deviceType)
        throw new DeviceMgtError(400, `deviceIdentifiers: ${id} is of type ${d.type}, the policy is for ${platform.deviceType}`);
      deviceIdentifiers.push(id);
    }
    for (const g of input.deviceGroups ?? []) {
      try {
        await this.deps.groups.get(orgId, g);
      } catch {
        throw new DeviceMgtError(400, `deviceGroups: group ${g} not found`);
      }
    }
    const assignment: PolicyAssignment = {
      deviceIdentifiers: [...new Set(deviceIdentifiers)],
      deviceGroups: [...new Set(input.deviceGroups ?? [])],
      users: [...new Set(input.users ?? [])],
      roles: [...new Set(input.roles ?? [])],
    };
    return { platform, features, compliance, ownershipType, assignment };
  }

  async create(caller: DmCaller, input: PolicyInput): Promise<PolicyRecord> {
    const parsed = await this.parse(caller.orgId, input);
    const others = await this.deps.store.policiesOfType(caller.orgId, parsed.platform.deviceType);
    if (others.length >= 1000) throw new DeviceMgtError(400, 'at most 1000 policies per device type');
    const now = this.deps.clock();
    const p: PolicyRecord = {
      id: randomUUID(),
      orgId: caller.orgId,
      policyName: input.policyName,
      description: input.description ?? '',
      deviceType: parsed.platform.deviceType,
      profile: { profileName: input.profile.profileName ?? input.policyName, features: parsed.features },
      compliance: parsed.compliance,
      ownershipType: parsed.ownershipType,
      assignment: parsed.assignment,
      priority: others.reduce((m, o) => Math.max(m, o.priority), 0) + 1,
      active: false,
      updated: true,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.deps.store.insertPolicy(p);
    } catch (err) {
      if (err instanceof DuplicateKeyError) throw new DeviceMgtError(409, `policy ${input.policyName} exists`);
      throw err;
    }
    return p;
  }

  async update(caller: DmCaller, id: string, input: PolicyInput): Promise<PolicyRecord> {
    const old = await this.get(caller.orgId, id);
    if (input.profile.deviceType !== old.deviceType)
      throw new DeviceMgtError(400, `profile.deviceType: the policy is for ${old.deviceType}`);
    const parsed = await this.parse(caller.orgId, input);
    const set: Partial<PolicyRecord> = {
      policyName: input.policyName,
      description: input.description ?? old.description,
      profile: { profileName: input.profile.profileName ?? old.profile.profileName, features: parsed.features },
      compliance: parsed.compliance,
      ownershipType: parsed.ownershipType,
      assignment: parsed.assignment,
      updated: true,
      version: old.version + 1,
      updatedAt: this.deps.clock(),
    };
    try {
      return (await this.deps.store.updatePolicy(caller.orgId, id, set)) ?? { ...old, ...set };
    } catch (err) {
      if (err instanceof DuplicateKeyError) throw new DeviceMgtError(409, `policy ${input.policyName} exists`);
      throw err;
    }
  }

  async get(orgId: string, id: string): Promise<PolicyRecord> {
    const p = await this.deps.store.policy(orgId, id);
    if (!p) throw new DeviceMgtError(404, `policy ${id} not found`);
    return p;
  }

  list(orgId: string, filter: { deviceType?: string; active?: boolean; name?: string }, offset: number, limit: number) {
    return this.deps.store.listPolicies(orgId, filter, offset, limit);
  }

  /** All named policies must exist in the organization, or nothing changes (404). */
  private async all(orgId: string, ids: string[]): Promise<PolicyRecord[]> {
    return Promise.all([...new Set(ids)].map((id) => this.get(orgId, id)));
  }

  async setActive(caller: DmCaller, ids: string[], active: boolean): Promise<void> {
    const found = await this.all(caller.orgId, ids);
    for (const p of found) {
      if (p.active === active) continue;
      await this.deps.store.updatePolicy(caller.orgId, p.id, { active, updated: true, updatedAt: this.deps.clock() });
    }
  }

  /** Removes inactive policies no device holds any more (deactivate and apply changes first: 409 otherwise). */
  async remove(caller: DmCaller, ids: string[]): Promise<void> {
    const found = await this.all(caller.orgId, ids);
    for (const p of found) {
      if (p.active || p.published?.active)
        throw new DeviceMgtError(409, `policy ${p.id} is active or still published: deactivate it and apply changes first`);
    }
    for (const p of found) await this.deps.store.deletePolicy(caller.orgId, p.id);
  }

  /** New priorities (1 = highest) for policies of the organization; refused whole when an id is unknown or repeated. */
  async setPriorities(caller: DmCaller, list: { id: string; priority: number }[]): Promise<void> {
    if (new Set(list.map((p) => p.id)).size !== list.length) throw new DeviceMgtError(400, 'a policy id appears twice');
    const found = await this.all(
      caller.orgId,
      list.map((p) => p.id),
    );
    const now = this.deps.clock();
    for (const [i, p] of found.entries()) {
      const priority = list[i]!.priority;
      if (p.priority !== priority) await this.deps.store.updatePolicy(caller.orgId, p.id, { priority, updated: true, updatedAt: now });
    }
  }

  /**
   * Publishes every changed policy of the organization (Entgra apply-changes) and brings the
   * devices of the affected types in line: new bundles where the effective policy changed,
   * revokes where none is left.
   */
  async applyChanges(caller: DmCaller): Promise<{ publishedPolicies: number; appliedDevices: number; revokedDevices: number }> {
    const changed = await this.deps.store.listPolicies(caller.orgId, {}, 0, 10_000);
    const types = new Set<string>();
    let published = 0;
    const now = this.deps.clock();
    for (const p of changed.items) {
      if (!p.updated) continue;
      await this.deps.store.updatePolicy(caller.orgId, p.id, {
        updated: false,
        published: {
          version: p.version,
          at: now,
          active: p.active,
          priority: p.priority,
          compliance: p.compliance,
          ownershipType: p.ownershipType,
          assignment: p.assignment,
          features: p.profile.features,
          policyName: p.policyName,
        },
      });
      types.add(p.deviceType);
      published++;
    }
    let appliedDevices = 0;
    let revokedDevices = 0;
    for (const t of types) {
      const platform = this.deps.platforms.get(t);
      if (!platform) continue;
      const r = await reconcile(this.deps, platform, caller.orgId, caller.clientId);
      appliedDevices += r.applied;
      revokedDevices += r.revoked;
    }
    this.deps.log.info({ orgId: caller.orgId, published, appliedDevices, revokedDevices }, 'policies applied');
    return { publishedPolicies: published, appliedDevices, revokedDevices };
  }

  /** The policy in force on a device and its compliance (Entgra effective-policy, compliance-data). */
  async effective(orgId: string, deviceType: string, deviceIdentifier: string) {
    const device = await this.deps.devices.get(orgId, deviceType, deviceIdentifier);
    const policy = effectivePolicy(device, await this.deps.store.policiesOfType(orgId, deviceType));
    if (!policy) throw new DeviceMgtError(404, `no policy applies to device ${deviceType}/${deviceIdentifier}`);
    return policy;
  }

  async compliance(orgId: string, deviceType: string, deviceIdentifier: string) {
    const device = await this.deps.devices.get(orgId, deviceType, deviceIdentifier);
    const rec = await this.deps.store.complianceOf(device.id);
    if (!rec) throw new DeviceMgtError(404, `device ${deviceType}/${deviceIdentifier} holds no policy`);
    return rec;
  }

  listCompliance(orgId: string, filter: { status?: ComplianceStatus; policyId?: string }, offset: number, limit: number) {
    return this.deps.store.listCompliance(orgId, filter, offset, limit);
  }

  listNotifications(orgId: string, offset: number, limit: number) {
    return this.deps.store.listNotifications(orgId, {}, offset, limit);
  }
}
