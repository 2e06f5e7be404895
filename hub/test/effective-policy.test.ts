import { describe, expect, it } from 'vitest';
import { effectivePolicy } from '../src/device-management/policies/effective-policy.js';
import type { PolicyAssignment, PolicyRecord } from '../src/device-management/policies/records.js';
import type { DeviceRecord } from '../src/device-management/records.js';

/** The effective policy of a device (docs/DEVICE-MANAGEMENT.md, "Policies: life cycle and priorities"). */
const device = (over: Partial<DeviceRecord> = {}): DeviceRecord => ({
  id: 'd1',
  orgId: 'o1',
  type: 'android',
  deviceIdentifier: 'IMEI-1',
  name: 'phone',
  owner: 'alice',
  ownership: 'BYOD',
  status: 'ACTIVE',
  dateOfEnrolment: 0,
  dateOfLastUpdate: 0,
  properties: { roles: 'sales, field' },
  groupIds: ['g1'],
  ...over,
});

const nobody: PolicyAssignment = { deviceIdentifiers: [], deviceGroups: [], users: [], roles: [] };

function policy(id: string, priority: number, assignment: Partial<PolicyAssignment>, over: Partial<PolicyRecord> = {}): PolicyRecord {
  const a = { ...nobody, ...assignment };
  return {
    id,
    orgId: 'o1',
    policyName: id,
    description: '',
    deviceType: 'android',
    profile: { profileName: id, features: [{ featureCode: 'CAMERA', content: { enabled: false } }] },
    compliance: 'ENFORCE',
    ownershipType: 'ANY',
    assignment: a,
    priority,
    active: true,
    updated: false,
    version: 1,
    createdAt: 100,
    updatedAt: 100,
    published: {
      version: 1,
      at: 100,
      active: true,
      priority,
      compliance: 'ENFORCE',
      ownershipType: over.ownershipType ?? 'ANY',
      assignment: a,
      features: [],
      policyName: id,
    },
    ...over,
  };
}

describe('effective policy', () => {
  it('matches by device identifier, group, owner and role (the roles property, comma-separated)', () => {
    expect(effectivePolicy(device(), [policy('by-id', 1, { deviceIdentifiers: ['IMEI-1'] })])?.id).toBe('by-id');
    expect(effectivePolicy(device(), [policy('by-group', 1, { deviceGroups: ['g1'] })])?.id).toBe('by-group');
    expect(effectivePolicy(device(), [policy('by-user', 1, { users: ['alice'] })])?.id).toBe('by-user');
    expect(effectivePolicy(device(), [policy('by-role', 1, { roles: ['field'] })])?.id).toBe('by-role');
    expect(effectivePolicy(device(), [policy('none', 1, { roles: ['admin'], users: ['bob'], deviceGroups: ['g2'] })])).toBeUndefined();
    expect(effectivePolicy(device(), [policy('nobody', 1, {})])).toBeUndefined();
  });

  it('the smallest priority number wins; the older policy on a tie', () => {
    const ps = [
      policy('low', 5, { deviceGroups: ['g1'] }),
      policy('high', 2, { users: ['alice'] }),
      policy('other', 1, { users: ['bob'] }),
    ];
    expect(effectivePolicy(device(), ps)?.id).toBe('high');
    const tie = [
      policy('newer', 3, { users: ['alice'] }, { createdAt: 200 }),
      policy('older', 3, { deviceGroups: ['g1'] }, { createdAt: 50 }),
    ];
    expect(effectivePolicy(device(), tie)?.id).toBe('older');
  });

  it('only the published copy counts: unpublished, inactive, another type, organization or ownership do not apply', () => {
    const unpublished = policy('unpublished', 1, { users: ['alice'] });
    delete unpublished.published;
    const inactive = policy('inactive', 1, { users: ['alice'] });
    inactive.published = { ...inactive.published!, active: false };
    const ps = [
      unpublished,
      inactive,
      policy('ios', 1, { users: ['alice'] }, { deviceType: 'ios' }),
      policy('org2', 1, { users: ['alice'] }, { orgId: 'o2' }),
      policy('cope-only', 1, { users: ['alice'] }, { ownershipType: 'COPE' }),
      policy('fallback', 9, { users: ['alice'] }),
    ];
    expect(effectivePolicy(device(), ps)?.id).toBe('fallback');
    expect(effectivePolicy(device({ ownership: 'COPE' }), ps)?.id).toBe('cope-only');
  });
});
