/**
 * The policy store contract (docs/DEVICE-MANAGEMENT.md, "Policies: storage"): the policy store is
 * written once against the store port, and every adapter must hold policies, compliance records,
 * notifications and the monitoring schedule alike. Embedded always runs; MongoDB runs against
 * MONGODB_URL or a throwaway container, else is listed as skipped by name.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mongoTarget } from './support/mongodb.js';
import { PolicyStore } from '../src/device-management/policies/policy-store.js';
import type { ComplianceRecord, PolicyRecord } from '../src/device-management/policies/records.js';
import { openEmbeddedStore } from '../src/store/embedded/store.js';
import { openMongoStore } from '../src/store/mongodb/store.js';
import { DuplicateKeyError, type Store } from '../src/store/port.js';

interface Adapter {
  name: string;
  skip?: string;
  setup(): Promise<void>;
  /** Opens the store at a named location; the same location reopens the same data. */
  open(location: string): Promise<Store>;
  teardown(): Promise<void>;
}

const base = mkdtempSync(join(tmpdir(), 'policy-store-'));
const mongo = await mongoTarget('policies');
const adapters: Adapter[] = [
  {
    name: 'embedded',
    setup: async () => {},
    open: (location) => openEmbeddedStore({ path: join(base, location) }),
    teardown: async () => rmSync(base, { recursive: true, force: true }),
  },
  {
    name: 'mongodb',
    ...(mongo.skip ? { skip: mongo.skip } : {}),
    setup: () => mongo.setup(),
    open: (location) => openMongoStore(mongo.database(location)),
    teardown: () => mongo.teardown(),
  },
];

const policy = (over: Partial<PolicyRecord> = {}): PolicyRecord => ({
  id: 'p1',
  orgId: 'o1',
  policyName: 'passcode',
  description: '',
  deviceType: 'ios',
  profile: { profileName: 'passcode', features: [{ featureCode: 'PASSCODE_POLICY', content: { minLength: 6 } }] },
  compliance: 'ENFORCE',
  ownershipType: 'ANY',
  assignment: { deviceIdentifiers: [], deviceGroups: ['g1'], users: [], roles: [] },
  priority: 1,
  active: false,
  updated: true,
  version: 1,
  createdAt: 1000,
  updatedAt: 1000,
  ...over,
});

const compliance = (over: Partial<ComplianceRecord> = {}): ComplianceRecord => ({
  deviceId: 'd1',
  orgId: 'o1',
  deviceType: 'ios',
  deviceIdentifier: 'UDID-1',
  policyId: 'p1',
  policyVersion: 1,
  appliedAt: 2000,
  bundleCommandId: 'c1',
  status: 'PENDING',
  features: [],
  attempts: 0,
  updatedAt: 2000,
  ...over,
});

function contract(adapter: Adapter): void {
  let store: Store;
  let s: PolicyStore;
  beforeAll(async () => {
    await adapter.setup();
    store = await adapter.open('main');
    s = await PolicyStore.open(store);
  }, 180_000);
  afterAll(async () => {
    await store?.close();
    await adapter.teardown();
  });

  it('policies: one name per organization, reads and writes scoped to the organization, paged listing by creation', async () => {
    await s.insertPolicy(policy());
    await s.insertPolicy(policy({ id: 'p2', policyName: 'camera', createdAt: 1001, priority: 2 }));
    await s.insertPolicy(policy({ id: 'p3', orgId: 'o2', createdAt: 999 }));
    const dup = await s.insertPolicy(policy({ id: 'p4' })).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(DuplicateKeyError);
    expect(await s.policy('o2', 'p1')).toBeUndefined();
    expect(await s.updatePolicy('o2', 'p1', { active: true })).toBeUndefined();
    expect((await s.policy('o1', 'p1'))?.active).toBe(false);
    const page = await s.listPolicies('o1', {}, 1, 1);
    expect(page).toMatchObject({ total: 2, items: [{ id: 'p2' }] });
    expect((await s.listPolicies('o1', { name: 'cam' }, 0, 10)).items.map((p) => p.id)).toEqual(['p2']);
    expect((await s.policiesOfType('o1', 'ios')).map((p) => p.id)).toEqual(['p1', 'p2']);
    expect(await s.deletePolicy('o2', 'p1')).toBe(false);
  });

  it('published copies are found by nested field; organizations with active published policies', async () => {
    expect(await s.orgsWithPublishedPolicies('ios')).toEqual([]);
    const p = await s.policy('o1', 'p1');
    await s.updatePolicy('o1', 'p1', {
      active: true,
      updated: false,
      published: {
        version: 1,
        at: 3000,
        active: true,
        priority: 1,
        compliance: 'ENFORCE',
        ownershipType: 'ANY',
        assignment: p!.assignment,
        features: p!.profile.features,
        policyName: p!.policyName,
      },
    });
    expect(await s.orgsWithPublishedPolicies('ios')).toEqual(['o1']);
    expect(await s.orgsWithPublishedPolicies('android')).toEqual([]);
    expect((await s.listPolicies('o1', { active: true }, 0, 10)).items.map((x) => x.id)).toEqual(['p1']);
  });

  it('compliance: one record per device, replaced whole (fields the new one lacks are gone), listed by status per organization', async () => {
    await s.putCompliance(compliance({ monitorCommandId: 'm1', correctiveCommandId: 'x1' }));
    await s.putCompliance(compliance({ deviceId: 'd2', deviceIdentifier: 'UDID-2', status: 'NON_COMPLIANT', appliedAt: 2001 }));
    await s.putCompliance(compliance({ deviceId: 'd3', orgId: 'o2', status: 'NON_COMPLIANT' }));
    await s.putCompliance(compliance({ policyVersion: 2, bundleCommandId: 'c2' }));
    const d1 = await s.complianceOf('d1');
    expect(d1).toMatchObject({ policyVersion: 2, bundleCommandId: 'c2' });
    expect(d1?.monitorCommandId).toBeUndefined();
    expect(d1?.correctiveCommandId).toBeUndefined();
    await s.updateCompliance('d1', { status: 'COMPLIANT', features: [{ featureCode: 'PASSCODE_POLICY', compliance: true }] });
    expect((await s.listCompliance('o1', { status: 'NON_COMPLIANT' }, 0, 10)).items.map((c) => c.deviceId)).toEqual(['d2']);
    expect((await s.listCompliance('o1', {}, 0, 10)).total).toBe(2);
    const first = await s.compliancePage(undefined, 2);
    const rest = await s.compliancePage(first.items.at(-1)!.deviceId, 2);
    expect([...first.items, ...rest.items].map((c) => c.deviceId)).toEqual(['d1', 'd2', 'd3']);
    expect(await s.deleteCompliance('d3')).toBe(true);
    expect(await s.complianceOf('d3')).toBeUndefined();
  });

  it('notifications: newest first, per organization and device', async () => {
    const n = {
      orgId: 'o1',
      deviceId: 'd2',
      deviceType: 'ios',
      deviceIdentifier: 'UDID-2',
      policyId: 'p1',
      compliance: 'ENFORCE' as const,
    };
    await s.addNotification({ ...n, id: 'n1', status: 'NEW', description: 'a', features: [], createdAt: 5000 });
    await s.addNotification({ ...n, id: 'n2', status: 'NEW', description: 'b', features: [], createdAt: 6000 });
    await s.addNotification({ ...n, id: 'n3', orgId: 'o2', status: 'NEW', description: 'c', features: [], createdAt: 7000 });
    expect((await s.listNotifications('o1', {}, 0, 10)).items.map((x) => x.id)).toEqual(['n2', 'n1']);
    expect((await s.listNotifications('o1', { deviceId: 'd1' }, 0, 10)).total).toBe(0);
  });

  it('the monitoring schedule survives reopening, and each due run is claimed once', async () => {
    const firstStore = await adapter.open('schedule');
    const a = await PolicyStore.open(firstStore);
    expect(await a.ensureSchedule(10_000)).toMatchObject({ nextRunAt: 10_000 });
    // A second start does not move it.
    expect(await a.ensureSchedule(99_000)).toMatchObject({ nextRunAt: 10_000 });
    const reopenedStore = await adapter.open('schedule');
    const b = await PolicyStore.open(reopenedStore);
    expect(await b.ensureSchedule(99_000)).toMatchObject({ nextRunAt: 10_000 });
    const claims = await Promise.all([a.claimRun(10_000, 10_001, 20_001), b.claimRun(10_000, 10_002, 20_002)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await b.ensureSchedule(0)).lastRunAt).toBeGreaterThan(10_000);
    await reopenedStore.close();
    await firstStore.close();
  });
}

describe.each(adapters.filter((a) => !a.skip).map((a) => [a.name, a] as const))('policy store contract: %s', (_, adapter) =>
  contract(adapter),
);
for (const adapter of adapters.filter((a) => a.skip)) {
  console.warn(`SKIPPED policy store contract: ${adapter.name} (${adapter.skip}); set MONGODB_URL or provide a Docker engine to run it`);
  describe.skip(`policy store contract: ${adapter.name} (skipped: ${adapter.skip})`, () => contract(adapter));
}
