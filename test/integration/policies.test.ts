import plist from 'plist';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApnsSimulator, IphoneAgent, issue, type SimCa } from '@edgehub/simulators/apple';
import { startAppleSandbox, type AppleSandbox } from '@edgehub/simulators/apple/sandbox';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import { clientCredentialsToken, newTenant, startHub, type RunningHub } from '../src/index.js';

const topic = 'com.apple.mgmt.External.5e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b';
type Json = Record<string, unknown>;

/**
 * Issue 11's policy acceptance on the real hub (docs/DEVICE-MANAGEMENT.md, "Policies"): a passcode
 * policy applied to a group reaches its members as a configuration profile; a phone whose passcode
 * does not meet it is marked non-compliant at the next monitoring run (the hub's clock moved, the
 * run started by hand) and, in ENFORCE mode, gets the corrective operation.
 */
describe('policies with compliance monitoring: passcode rule on a group, simulated iPhones', () => {
  let h: RunningHub;
  let apns: ApnsSimulator;
  let deviceCa: SimCa;
  let sandbox: AppleSandbox;
  let member: IphoneAgent;
  let outsider: IphoneAgent;
  let bearer: string;
  let groupId: string;
  let policyId: string;
  /** A token of another organization (made before the tests move the hub's clock). */
  let otherToken: string;
  let other: { accessKey: string; accessSecret: string };

  const dm = async (method: string, path: string, body?: unknown, token = bearer) => {
    const r = await fetch(`${h.baseUrl}/api/device-mgt/v1.0${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };

  /** Resolves when the command reaches a final status (it may already have). */
  function settled(orgId: string, commandId: string): Promise<CommandRecord> {
    return new Promise((resolve, reject) => {
      const on = (c: CommandRecord) => {
        if (c.commandId === commandId && !['pending', 'sent', 'notnow', 'in-progress'].includes(c.status)) {
          h.hub.commands.off('status', on);
          resolve(c);
        }
      };
      h.hub.commands.on('status', on);
      h.hub.commands.get(orgId, commandId).then((c) => {
        if (!['pending', 'sent', 'notnow', 'in-progress'].includes(c.status)) on(c);
      }, reject);
    });
  }

  const compliance = async (phone: IphoneAgent) => dm('GET', `/devices/ios/${phone.udid}/compliance-data`);

  /** Moves the hub's clock one monitoring period on and runs the monitoring round that became due. */
  async function nextMonitoringRun() {
    h.advanceClock(600_000);
    // Tokens live an hour of the hub's clock: take fresh ones as it moves.
    bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);
    otherToken = await clientCredentialsToken(h.baseUrl, other);
    const run = await h.hub.policies.monitor.tick();
    expect(run.ran).toBe(true);
    return run;
  }

  beforeAll(async () => {
    sandbox = await startAppleSandbox({ topic });
    ({ apns, deviceCa } = sandbox);
    Object.assign(process.env, sandbox.env);
    h = await startHub();
    process.env['HUB_IOS_ORG_ID'] = h.adminCreds.orgId;
    const phone = async (cn: string) => {
      const p = new IphoneAgent({ serverUrl: `${h.baseUrl}/mdm`, topic, identity: await issue(deviceCa, { subject: { CN: cn } }), apns });
      await p.enroll();
      return p;
    };
    member = await phone('member');
    outsider = await phone('outsider');
    bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);
    other = await newTenant(h, 'policies-other');
    otherToken = await clientCredentialsToken(h.baseUrl, other);
    const g = await dm('POST', '/groups', { name: 'field staff' });
    groupId = g.body['id'] as string;
    expect((await dm('POST', `/groups/id/${groupId}/devices/add`, [{ type: 'ios', id: member.udid }])).status).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
    await sandbox?.stop();
  });

  it('a passcode policy for the group is created inactive, activated, and apply-changes sends its profile to the member only', async () => {
    const created = await dm('POST', '/policies', {
      policyName: 'passcode for field staff',
      compliance: 'ENFORCE',
      profile: {
        deviceType: 'ios',
        profileFeaturesList: [{ featureCode: 'PASSCODE_POLICY', content: { minLength: 6, requireAlphanumeric: true } }],
      },
      deviceGroups: [groupId],
    });
    expect(created).toMatchObject({ status: 201, body: { active: false, priority: 1, compliance: 'ENFORCE', deviceGroups: [groupId] } });
    policyId = created.body['id'] as string;
    expect((await dm('POST', '/policies/activate-policy', [policyId])).status).toBe(200);
    // Nothing reaches a device before apply-changes.
    expect((await compliance(member)).status).toBe(404);
    const applied = await dm('PUT', '/policies/apply-changes');
    expect(applied).toMatchObject({ status: 200, body: { publishedPolicies: 1, appliedDevices: 1, revokedDevices: 0 } });

    const held = await compliance(member);
    expect(held).toMatchObject({ status: 200, body: { policyId, status: 'PENDING', policyVersion: 1 } });
    const bundle = await settled(h.adminCreds.orgId, held.body['bundleCommandId'] as string);
    expect(bundle).toMatchObject({ name: 'INSTALL_PROFILE', status: 'acknowledged' });
    // The profile the phone installed carries the passcode payload with the policy's settings.
    expect(member.profiles.has(`edgehub.policy.${policyId}`)).toBe(true);
    const profile = plist.parse(Buffer.from(bundle.params['Payload'] as string, 'base64').toString('utf8')) as Json;
    expect(profile['PayloadContent']).toEqual([
      expect.objectContaining({ PayloadType: 'com.apple.mobiledevice.passwordpolicy', minLength: 6, requireAlphanumeric: true }),
    ]);
    expect((await compliance(outsider)).status).toBe(404);
    expect(await dm('GET', `/policies/effective-policy/ios/${member.udid}`)).toMatchObject({ status: 200, body: { id: policyId } });
    expect((await dm('GET', `/policies/effective-policy/ios/${outsider.udid}`)).status).toBe(404);
  });

  it('a phone reporting a passcode that misses the rule is marked non-compliant at the next run, notified, and gets the profile again (ENFORCE)', async () => {
    member.passcodeCompliant = false;
    const first = await nextMonitoringRun();
    expect(first).toMatchObject({ requested: 1, evaluated: 0 });
    const asked = await compliance(member);
    const monitor = await settled(h.adminCreds.orgId, asked.body['monitorCommandId'] as string);
    expect(monitor).toMatchObject({ name: 'SECURITY_INFO', status: 'acknowledged' });
    // Answered, but judged at the next run.
    expect((await compliance(member)).body['status']).toBe('PENDING');
    const profilesInstalled = () => member.executed.filter((e) => e.requestType === 'InstallProfile' && e.status === 'Acknowledged').length;
    const before = profilesInstalled();

    const second = await nextMonitoringRun();
    expect(second).toMatchObject({ evaluated: 1, nonCompliant: 1, corrective: 1, requested: 1 });
    const marked = await compliance(member);
    expect(marked.body).toMatchObject({
      status: 'NON_COMPLIANT',
      features: [{ featureCode: 'PASSCODE_POLICY', compliance: false, message: 'passcode does not meet the policy' }],
    });
    const corrective = await settled(h.adminCreds.orgId, marked.body['correctiveCommandId'] as string);
    expect(corrective).toMatchObject({ name: 'INSTALL_PROFILE', status: 'acknowledged' });
    expect(profilesInstalled()).toBe(before + 1);

    const notes = await dm('GET', '/policies/notifications');
    expect(notes.body).toMatchObject({
      count: 1,
      notifications: [
        { deviceIdentifier: member.udid, policyId, compliance: 'ENFORCE', status: 'NEW', features: [{ featureCode: 'PASSCODE_POLICY' }] },
      ],
    });
    const listed = await dm('GET', '/devices/compliance/NON_COMPLIANT');
    expect(listed.body).toMatchObject({ count: 1, devices: [{ deviceIdentifier: member.udid }] });
    // The outsider was never asked.
    expect(outsider.executed.filter((e) => e.requestType === 'SecurityInfo')).toEqual([]);
  });

  it('still non-compliant at the following run: no second notification; fixed afterwards: compliant again', async () => {
    await settled(h.adminCreds.orgId, (await compliance(member)).body['monitorCommandId'] as string);
    // The phone is fixed now, but the answer it gave before is what the next run judges.
    member.passcodeCompliant = true;
    const still = await nextMonitoringRun();
    expect(still).toMatchObject({ evaluated: 1, nonCompliant: 1 });
    expect((await dm('GET', '/policies/notifications')).body['count']).toBe(1);

    await settled(h.adminCreds.orgId, (await compliance(member)).body['monitorCommandId'] as string);
    const fixed = await nextMonitoringRun();
    expect(fixed).toMatchObject({ evaluated: 1, nonCompliant: 0, corrective: 0 });
    expect((await compliance(member)).body).toMatchObject({
      status: 'COMPLIANT',
      features: [{ featureCode: 'PASSCODE_POLICY', compliance: true }],
    });
  });

  it('a run that is not due does nothing; the monitoring period is the stored schedule', async () => {
    h.advanceClock(60_000);
    expect(await h.hub.policies.monitor.tick()).toMatchObject({ ran: false });
  });

  it('deactivating and applying revokes the profile from the member', async () => {
    expect((await dm('POST', '/policies/deactivate-policy', [policyId])).status).toBe(200);
    expect((await dm('PUT', '/policies/apply-changes')).body).toMatchObject({ revokedDevices: 1 });
    expect((await compliance(member)).status).toBe(404);
    expect((await dm('POST', '/policies/remove-policy', [policyId])).status).toBe(200);
    expect((await dm('GET', `/policies/${policyId}`)).status).toBe(404);
  });

  describe('priorities and compliance modes', () => {
    let warnGroup: string;
    let blockOutsider: string;
    const passcode = (minLength: number) => ({
      deviceType: 'ios',
      profileFeaturesList: [{ featureCode: 'PASSCODE_POLICY', content: { minLength } }],
    });

    it('the effective policy is the assigned one of highest priority; new priorities reach devices at apply-changes', async () => {
      expect((await dm('POST', `/groups/id/${groupId}/devices/add`, [{ type: 'ios', id: outsider.udid }])).status).toBe(200);
      const a = await dm('POST', '/policies', {
        policyName: 'group warn',
        compliance: 'WARN',
        profile: passcode(4),
        deviceGroups: [groupId],
      });
      const b = await dm('POST', '/policies', {
        policyName: 'outsider block',
        compliance: 'BLOCK',
        profile: passcode(8),
        deviceIdentifiers: [outsider.udid],
      });
      warnGroup = a.body['id'] as string;
      blockOutsider = b.body['id'] as string;
      expect(a.body['priority'] as number).toBeLessThan(b.body['priority'] as number);
      await dm('POST', '/policies/activate-policy', [warnGroup, blockOutsider]);
      expect((await dm('PUT', '/policies/apply-changes')).body).toMatchObject({ appliedDevices: 2 });
      expect((await dm('GET', `/policies/effective-policy/ios/${outsider.udid}`)).body).toMatchObject({ id: warnGroup });

      expect(
        (
          await dm('PUT', '/policies/priorities', [
            { id: blockOutsider, priority: 1 },
            { id: warnGroup, priority: 2 },
          ])
        ).status,
      ).toBe(200);
      // Not published yet: devices keep what they hold.
      expect((await compliance(outsider)).body).toMatchObject({ policyId: warnGroup });
      expect((await dm('PUT', '/policies/apply-changes')).body).toMatchObject({
        publishedPolicies: 2,
        appliedDevices: 1,
        revokedDevices: 0,
      });
      expect((await dm('GET', `/policies/effective-policy/ios/${outsider.udid}`)).body).toMatchObject({ id: blockOutsider });
      const held = await compliance(outsider);
      expect(held.body).toMatchObject({ policyId: blockOutsider, status: 'PENDING' });
      await settled(h.adminCreds.orgId, held.body['bundleCommandId'] as string);
      expect((await compliance(member)).body).toMatchObject({ policyId: warnGroup });
    });

    it('WARN: notified, no corrective operation; BLOCK: notified and the enrolment blocked until an administrator lifts it', async () => {
      member.passcodeCompliant = false;
      outsider.passcodeCompliant = false;
      const notesBefore = (await dm('GET', '/policies/notifications')).body['count'] as number;
      await nextMonitoringRun();
      for (const phone of [member, outsider])
        await settled(h.adminCreds.orgId, (await compliance(phone)).body['monitorCommandId'] as string);
      const run = await nextMonitoringRun();
      expect(run).toMatchObject({ evaluated: 2, nonCompliant: 2, corrective: 0 });
      const warned = await compliance(member);
      expect(warned.body).toMatchObject({ status: 'NON_COMPLIANT', policyId: warnGroup });
      expect(warned.body['correctiveCommandId']).toBeUndefined();
      expect((await compliance(outsider)).body).toMatchObject({ status: 'NON_COMPLIANT', policyId: blockOutsider });
      expect((await dm('GET', `/devices/ios/${outsider.udid}`)).body).toMatchObject({ enrolmentInfo: { status: 'BLOCKED' } });
      const notes = await dm('GET', '/policies/notifications');
      expect(notes.body['count']).toBe(notesBefore + 2);
      expect(
        (notes.body['notifications'] as Json[])
          .slice(0, 2)
          .map((n) => n['compliance'])
          .sort(),
      ).toEqual(['BLOCK', 'WARN']);
      // A blocked device takes no operations.
      const op = await dm('POST', '/devices/ios/operations', {
        deviceIdentifiers: [outsider.udid],
        operation: { code: 'DEVICE_LOCK', payload: {} },
      });
      expect((op.body['activityStatus'] as Json[])[0]).toMatchObject({ status: 'INVALID' });

      expect((await dm('PUT', `/devices/ios/${outsider.udid}/changestatus?newStatus=REMOVED`)).status).toBe(400);
      expect((await dm('GET', `/devices/ios/${outsider.udid}`)).body).toMatchObject({ enrolmentInfo: { status: 'BLOCKED' } });
      expect((await dm('PUT', `/devices/ios/${outsider.udid}/changestatus?newStatus=ACTIVE`)).status).toBe(200);
      expect((await dm('GET', `/devices/ios/${outsider.udid}`)).body).toMatchObject({ enrolmentInfo: { status: 'ACTIVE' } });
      member.passcodeCompliant = true;
      outsider.passcodeCompliant = true;
    });
  });

  describe('bad input: the documented error, nothing stored or changed', () => {
    const passcode = { featureCode: 'PASSCODE_POLICY', content: { minLength: 6 } };
    const valid = (over: Json = {}) => ({ policyName: 'valid', profile: { deviceType: 'ios', profileFeaturesList: [passcode] }, ...over });
    const snapshot = async () => (await dm('GET', '/policies?limit=1000')).body;
    let existing: string;

    beforeAll(async () => {
      const p = await dm('POST', '/policies', valid({ policyName: 'existing', deviceGroups: [groupId] }));
      expect(p.status).toBe(201);
      existing = p.body['id'] as string;
    });

    it.each([
      ['an unknown device type', valid({ profile: { deviceType: 'nokia', profileFeaturesList: [passcode] } })],
      ['a device type without policies (MQTT)', valid({ profile: { deviceType: 'enos-mqtt', profileFeaturesList: [passcode] } })],
      [
        'a feature iOS has no payload for',
        valid({ profile: { deviceType: 'ios', profileFeaturesList: [{ featureCode: 'DEVICE_LOCK' }] } }),
      ],
      [
        'content a configuration payload cannot hold',
        valid({
          profile: { deviceType: 'ios', profileFeaturesList: [{ featureCode: 'PASSCODE_POLICY', content: { minLength: [{ a: 1 }] } }] },
        }),
      ],
      [
        'content naming a Payload key the hub sets',
        valid({ profile: { deviceType: 'ios', profileFeaturesList: [{ featureCode: 'PASSCODE_POLICY', content: { PayloadType: 'x' } }] } }),
      ],
      ['the same feature twice', valid({ profile: { deviceType: 'ios', profileFeaturesList: [passcode, passcode] } })],
      ['no features', valid({ profile: { deviceType: 'ios', profileFeaturesList: [] } })],
      ['no profile', { policyName: 'x' }],
      ['an unknown compliance mode', valid({ compliance: 'STRICT' })],
      ['an unknown ownership', valid({ ownershipType: 'RENTED' })],
      ['a group of no one', valid({ deviceGroups: ['no-such-group'] })],
      ['a device identifier of another type', valid({ deviceIdentifiers: [{ id: 'x', type: 'android' }] })],
    ])('create with %s → 400', async (_, body) => {
      const before = await snapshot();
      const r = await dm('POST', '/policies', body);
      expect(r).toMatchObject({ status: 400, body: { code: 400 } });
      expect(await snapshot()).toEqual(before);
    });

    it('a second policy of the same name → 409', async () => {
      const before = await snapshot();
      expect((await dm('POST', '/policies', valid({ policyName: 'existing' }))).status).toBe(409);
      expect(await snapshot()).toEqual(before);
    });

    it('update: unknown policy → 404; another device type → 400; a bad feature → 400; the policy unchanged', async () => {
      const before = await snapshot();
      expect((await dm('PUT', '/policies/no-such-policy', valid())).status).toBe(404);
      expect(
        (await dm('PUT', `/policies/${existing}`, valid({ profile: { deviceType: 'android', profileFeaturesList: [passcode] } }))).status,
      ).toBe(400);
      expect(
        (
          await dm(
            'PUT',
            `/policies/${existing}`,
            valid({ profile: { deviceType: 'ios', profileFeaturesList: [{ featureCode: 'CAMERA_X' }] } }),
          )
        ).status,
      ).toBe(400);
      expect(await snapshot()).toEqual(before);
    });

    it('activate, deactivate, priorities, remove with an unknown id among known ones → 404, none changed', async () => {
      const before = await snapshot();
      expect((await dm('POST', '/policies/activate-policy', [existing, 'no-such-policy'])).status).toBe(404);
      expect(
        (
          await dm('PUT', '/policies/priorities', [
            { id: existing, priority: 7 },
            { id: 'no-such-policy', priority: 8 },
          ])
        ).status,
      ).toBe(404);
      expect(
        (
          await dm('PUT', '/policies/priorities', [
            { id: existing, priority: 7 },
            { id: existing, priority: 8 },
          ])
        ).status,
      ).toBe(400);
      expect((await dm('PUT', '/policies/priorities', [{ id: existing, priority: 0 }])).status).toBe(400);
      expect((await dm('POST', '/policies/remove-policy', [existing, 'no-such-policy'])).status).toBe(404);
      expect((await dm('POST', '/policies/activate-policy', [])).status).toBe(400);
      expect(await snapshot()).toEqual(before);
    });

    it('removing an active policy → 409, it stays', async () => {
      expect((await dm('POST', '/policies/activate-policy', [existing])).status).toBe(200);
      const before = await snapshot();
      expect((await dm('POST', '/policies/remove-policy', [existing])).status).toBe(409);
      expect(await snapshot()).toEqual(before);
      expect((await dm('POST', '/policies/deactivate-policy', [existing])).status).toBe(200);
    });

    it('scopes and organizations: no token 401, a read-only token 403, another organization sees no policy (404)', async () => {
      const before = await snapshot();
      const r = await fetch(`${h.baseUrl}/api/device-mgt/v1.0/policies`);
      expect(r.status).toBe(401);
      const readOnly = await clientCredentialsToken(h.baseUrl, h.adminCreds, 'dm:policies:view');
      expect((await dm('POST', '/policies', valid({ policyName: 'ro' }), readOnly)).status).toBe(403);
      expect((await dm('PUT', '/policies/apply-changes', undefined, readOnly)).status).toBe(403);
      expect((await dm('GET', '/policies', undefined, readOnly)).status).toBe(200);
      expect((await dm('GET', `/policies/${existing}`, undefined, otherToken)).status).toBe(404);
      expect((await dm('POST', '/policies/activate-policy', [existing], otherToken)).status).toBe(404);
      expect((await dm('GET', `/devices/ios/${member.udid}/compliance-data`, undefined, otherToken)).status).toBe(404);
      expect((await dm('GET', '/policies', undefined, otherToken)).body).toMatchObject({ count: 0 });
      expect((await dm('GET', '/policies?limit=0')).status).toBe(400);
      expect(await snapshot()).toEqual(before);
    });
  });
});
