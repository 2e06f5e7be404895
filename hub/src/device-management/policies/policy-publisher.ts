import type { Logger } from 'pino';
import type { DeviceDirectory } from '../device-directory.js';
import type { DeviceManagement } from '../device-management.js';
import type { DeviceRecord } from '../records.js';
import { effectivePolicy } from './effective-policy.js';
import type { PolicyOperation, PolicyPlatform, PolicyView } from './platforms.js';
import type { PolicyStore } from './policy-store.js';
import type { ComplianceRecord, PolicyRecord, PublishedPolicy } from './records.js';

export const viewOfPublished = (p: PolicyRecord & { published: PublishedPolicy }): PolicyView => ({
  id: p.id,
  version: p.published.version,
  policyName: p.published.policyName,
  compliance: p.published.compliance,
  features: p.published.features,
});

/**
 * Sends policy operations as activities of the command core (docs/DEVICE-MANAGEMENT.md,
 * "Policies"): one activity per operation and per batch of devices, so they show in the activity
 * views beside every other operation. Answers the command id each device got.
 */
export class PolicyOperations {
  constructor(
    private readonly dm: DeviceManagement,
    private readonly log: Logger,
  ) {}

  async send(
    orgId: string,
    by: string,
    deviceType: string,
    op: PolicyOperation,
    deviceIdentifiers: string[],
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < deviceIdentifiers.length; i += 1000) {
      const batch = deviceIdentifiers.slice(i, i + 1000);
      try {
        const activity = await this.dm.addOperation({ orgId, clientId: by, scopes: [] }, deviceType, {
          deviceIdentifiers: batch,
          operation: { code: op.code, type: op.type, payload: op.payload },
        });
        for (const s of activity.activityStatus) if (s.operationId) out.set(String(s.deviceIdentifier.id), s.operationId);
      } catch (err) {
        // A device type that cannot take the operation (e.g. a plugin without MONITOR): logged, the
        // devices stay as they are and the next run tries again.
        this.log.error({ err, orgId, deviceType, code: op.code }, 'policy operation refused');
      }
    }
    return out;
  }
}

/**
 * Brings the devices of one organization and type in line with their effective policy: a device
 * whose effective policy (or its version) differs from the one it holds gets the bundle; a device
 * that no longer falls under any policy gets the revoke and loses its compliance record.
 */
export async function reconcile(
  deps: { store: PolicyStore; devices: DeviceDirectory; ops: PolicyOperations; clock: () => number },
  platform: PolicyPlatform,
  orgId: string,
  by: string,
): Promise<{ applied: number; revoked: number }> {
  const policies = await deps.store.policiesOfType(orgId, platform.deviceType);
  const toApply = new Map<string, { policy: PolicyRecord & { published: PublishedPolicy }; devices: DeviceRecord[] }>();
  const toRevoke = new Map<string, { view: PolicyView; devices: DeviceRecord[] }>();
  for (let offset = 0; ; offset += 500) {
    const page = await deps.devices.list(orgId, { type: platform.deviceType, status: 'ACTIVE' }, offset, 500);
    for (const d of page.items) {
      const eff = effectivePolicy(d, policies);
      const held = await deps.store.complianceOf(d.id);
      if (eff && held?.policyId === eff.id && held.policyVersion === eff.published.version) continue;
      if (eff) {
        const entry = toApply.get(eff.id) ?? { policy: eff, devices: [] };
        entry.devices.push(d);
        toApply.set(eff.id, entry);
      } else if (held) {
        const old = policies.find((p) => p.id === held.policyId);
        const view: PolicyView = {
          id: held.policyId,
          version: held.policyVersion,
          policyName: old?.policyName ?? '',
          compliance: '',
          features: [],
        };
        const entry = toRevoke.get(held.policyId) ?? { view, devices: [] };
        entry.devices.push(d);
        toRevoke.set(held.policyId, entry);
      }
    }
    if (page.items.length < 500) break;
  }
  let applied = 0;
  for (const { policy, devices } of toApply.values()) {
    const sent = await deps.ops.send(
      orgId,
      by,
      platform.deviceType,
      platform.bundle(viewOfPublished(policy)),
      devices.map((d) => d.deviceIdentifier),
    );
    const now = deps.clock();
    for (const d of devices) {
      const commandId = sent.get(d.deviceIdentifier);
      if (!commandId) continue;
      const rec: ComplianceRecord = {
        deviceId: d.id,
        orgId,
        deviceType: d.type,
        deviceIdentifier: d.deviceIdentifier,
        policyId: policy.id,
        policyVersion: policy.published.version,
        appliedAt: now,
        bundleCommandId: commandId,
        status: 'PENDING',
        features: [],
        attempts: 0,
        updatedAt: now,
      };
      await deps.store.putCompliance(rec);
      applied++;
    }
  }
  let revoked = 0;
  for (const { view, devices } of toRevoke.values()) {
    await deps.ops.send(
      orgId,
      by,
      platform.deviceType,
      platform.revoke(view),
      devices.map((d) => d.deviceIdentifier),
    );
    for (const d of devices) {
      await deps.store.deleteCompliance(d.id);
      revoked++;
    }
  }
  return { applied, revoked };
}
