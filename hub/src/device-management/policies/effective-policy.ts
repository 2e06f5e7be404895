import type { DeviceRecord } from '../records.js';
import type { PolicyAssignment, PolicyRecord, PublishedPolicy } from './records.js';

/** The roles a device's owner holds, as the device carries them (property `roles`, comma-separated). */
export function rolesOf(device: Pick<DeviceRecord, 'properties'>): string[] {
  return (device.properties['roles'] ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
}

export function assignedTo(a: PolicyAssignment, device: DeviceRecord): boolean {
  if (a.deviceIdentifiers.includes(device.deviceIdentifier)) return true;
  if (a.deviceGroups.some((g) => device.groupIds.includes(g))) return true;
  if (a.users.includes(device.owner)) return true;
  const roles = rolesOf(device);
  return a.roles.some((r) => roles.includes(r));
}

/**
 * The effective policy of a device (docs/DEVICE-MANAGEMENT.md, "Policies: priorities"): among the
 * published, active policies of its organization and type that are assigned to it and accept its
 * ownership, the one with the highest priority (the smallest number; the older on a tie).
 */
export function effectivePolicy(
  device: DeviceRecord,
  policies: readonly PolicyRecord[],
): (PolicyRecord & { published: PublishedPolicy }) | undefined {
  let best: (PolicyRecord & { published: PublishedPolicy }) | undefined;
  for (const p of policies) {
    const pub = p.published;
    if (!pub?.active || p.orgId !== device.orgId || p.deviceType !== device.type) continue;
    if (pub.ownershipType !== 'ANY' && pub.ownershipType !== device.ownership) continue;
    if (!assignedTo(pub.assignment, device)) continue;
    if (
      !best ||
      pub.priority < best.published.priority ||
      (pub.priority === best.published.priority && (p.createdAt < best.createdAt || (p.createdAt === best.createdAt && p.id < best.id)))
    )
      best = { ...p, published: pub };
  }
  return best;
}
