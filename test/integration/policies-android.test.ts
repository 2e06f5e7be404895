import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AndroidAgent } from '@edgehub/simulators/android';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import { clientCredentialsToken, startHub, type RunningHub } from '../src/index.js';

type Json = Record<string, unknown>;

/**
 * Issue 11's policy acceptance with the Android agent (docs/DEVICE-MANAGEMENT.md, "Policies",
 * "Android: MONITOR results"): a passcode policy applied to a group goes out as POLICY_BUNDLE; the
 * simulated agent answers MONITOR with a non-compliant PASSCODE_POLICY; the next monitoring run
 * (the hub's clock moved, the run started by hand) marks the device NON_COMPLIANT and, in ENFORCE
 * mode, sends the bundle again. The agent polls (no FCM here), so each exchange is awaited.
 */
describe('policies on Android: passcode rule on a group, the simulated Entgra agent', () => {
  let h: RunningHub;
  let bearer: string;
  let member: AndroidAgent;
  let outsider: AndroidAgent;
  let groupId: string;
  let policyId: string;

  const dm = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${h.baseUrl}/api/device-mgt/v1.0${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };
  const compliance = (a: AndroidAgent) => dm('GET', `/devices/android/${a.deviceIdentifier}/compliance-data`);
  const command = (id: string): Promise<CommandRecord> => h.hub.commands.get(h.adminCreds.orgId, id);

  async function nextMonitoringRun() {
    h.advanceClock(600_000);
    bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);
    const run = await h.hub.policies.monitor.tick();
    expect(run.ran).toBe(true);
    return run;
  }

  beforeAll(async () => {
    h = await startHub();
    bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);
    member = new AndroidAgent({ baseUrl: h.baseUrl, oauthToken: bearer });
    outsider = new AndroidAgent({ baseUrl: h.baseUrl, oauthToken: bearer });
    await member.enroll();
    await outsider.enroll();
    groupId = (await dm('POST', '/groups', { name: 'android staff' })).body['id'] as string;
    expect((await dm('POST', `/groups/id/${groupId}/devices/add`, [{ type: 'android', id: member.deviceIdentifier }])).status).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('apply-changes sends the POLICY_BUNDLE to the group member, which applies the passcode feature', async () => {
    const created = await dm('POST', '/policies', {
      policyName: 'android passcode',
      compliance: 'ENFORCE',
      profile: {
        deviceType: 'android',
        profileFeaturesList: [{ featureCode: 'PASSCODE_POLICY', content: { minLength: 6, requireAlphanumeric: true } }],
      },
      deviceGroups: [groupId],
    });
    expect(created.status).toBe(201);
    policyId = created.body['id'] as string;
    await dm('POST', '/policies/activate-policy', [policyId]);
    expect((await dm('PUT', '/policies/apply-changes')).body).toMatchObject({ appliedDevices: 1 });
    await member.poll();
    await outsider.poll();
    const held = await compliance(member);
    expect(held.body).toMatchObject({ policyId, status: 'PENDING' });
    expect(await command(held.body['bundleCommandId'] as string)).toMatchObject({ name: 'POLICY_BUNDLE', operationStatus: 'COMPLETED' });
    expect(member.policy.get('PASSCODE_POLICY')).toMatchObject({ minLength: 6, requireAlphanumeric: true });
    expect(outsider.policy.size).toBe(0);
    expect((await compliance(outsider)).status).toBe(404);
  });

  it('a MONITOR answer with PASSCODE_POLICY not compliant → NON_COMPLIANT at the next run, a notification, and the bundle again', async () => {
    member.nonCompliant.set('PASSCODE_POLICY', 'minLength 4 < 6');
    expect(await nextMonitoringRun()).toMatchObject({ requested: 1 });
    await member.poll();
    const asked = await compliance(member);
    expect(await command(asked.body['monitorCommandId'] as string)).toMatchObject({ name: 'MONITOR', operationStatus: 'COMPLETED' });
    expect(asked.body['status']).toBe('PENDING');
    const bundles = () => member.executed.filter((o) => o.code === 'POLICY_BUNDLE').length;
    const before = bundles();

    expect(await nextMonitoringRun()).toMatchObject({ evaluated: 1, nonCompliant: 1, corrective: 1 });
    const marked = await compliance(member);
    expect(marked.body).toMatchObject({
      status: 'NON_COMPLIANT',
      features: [{ featureCode: 'PASSCODE_POLICY', compliance: false, message: 'minLength 4 < 6' }],
    });
    expect((await dm('GET', '/policies/notifications')).body).toMatchObject({
      count: 1,
      notifications: [{ deviceType: 'android', deviceIdentifier: member.deviceIdentifier, policyId }],
    });
    await member.poll();
    expect(bundles()).toBe(before + 1);
    expect(await command(marked.body['correctiveCommandId'] as string)).toMatchObject({
      name: 'POLICY_BUNDLE',
      operationStatus: 'COMPLETED',
    });
  });

  it('the device complies again → COMPLIANT at the run after its next answer', async () => {
    member.nonCompliant.clear();
    // The answer given with the correction was still the old state: judged so at this run.
    expect(await nextMonitoringRun()).toMatchObject({ evaluated: 1, nonCompliant: 1 });
    await member.poll();
    expect(await nextMonitoringRun()).toMatchObject({ evaluated: 1, nonCompliant: 0 });
    expect((await compliance(member)).body).toMatchObject({
      status: 'COMPLIANT',
      features: [{ featureCode: 'PASSCODE_POLICY', compliance: true }],
    });
    expect((await dm('GET', '/policies/notifications')).body['count']).toBe(1);
  });

  it('a device that joins the group later gets the policy at the next monitoring run', async () => {
    expect((await dm('POST', `/groups/id/${groupId}/devices/add`, [{ type: 'android', id: outsider.deviceIdentifier }])).status).toBe(200);
    expect((await compliance(outsider)).status).toBe(404);
    expect(await nextMonitoringRun()).toMatchObject({ applied: 1 });
    await outsider.poll();
    expect(outsider.policy.get('PASSCODE_POLICY')).toMatchObject({ minLength: 6 });
    expect((await compliance(outsider)).body).toMatchObject({ policyId, status: 'PENDING' });
  });
});
