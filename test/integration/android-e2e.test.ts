import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AndroidAgent, FcmSimulator, createServiceAccount } from '@edgehub/simulators/android';
import { ApiClient } from '@edgehub/hub';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import type { WakeEvent } from '../../hub/src/push/wake-worker.js';
import { clientCredentialsToken, newTenant, provision, startHub, type RunningHub } from '../src/index.js';

type Json = Record<string, unknown>;

/**
 * The Android device type end to end on the real hub (docs/DEVICE-MANAGEMENT.md, "Android"):
 * management REST → command core → push worker → FCM fake (signed JWT, access token) → simulated
 * agent → pending-operations → result → COMPLETED; the agent protocol's refusals; UNREGISTERED.
 */
describe('Android on the command core (docs/DEVICE-MANAGEMENT.md, "Android")', () => {
  let h: RunningHub;
  let fcm: FcmSimulator;
  let dir: string;
  let org: { orgId: string; accessKey: string; accessSecret: string };
  let other: { orgId: string; accessKey: string; accessSecret: string };
  let bearer: string;
  let otherBearer: string;
  let phone: AndroidAgent;
  /** Enrolled without FCM: only polls, so its operations stay PENDING until a test polls. */
  let quiet: AndroidAgent;
  let mqttAssetId: string;

  const call = async (path: string, method: string, body?: unknown, token = bearer) => {
    const r = await fetch(`${h.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };
  const dm = (method: string, path: string, body?: unknown, token = bearer) => call(`/api/device-mgt/v1.0${path}`, method, body, token);
  const admin = (action: string, body: unknown, token = bearer) =>
    call(`/api/device-mgt/android/v1.0/admin/devices/${action}`, 'POST', body, token);

  function statusOf(commandId: string, status: string): Promise<CommandRecord> {
    return new Promise((resolve) => {
      const on = (c: CommandRecord) => {
        if (c.commandId === commandId && c.operationStatus === status) {
          h.hub.commands.off('status', on);
          resolve(c);
        }
      };
      h.hub.commands.on('status', on);
    });
  }
  /** Resolves once the command has the status, whether it got there before the call or after. */
  async function reach(commandId: string, status: string): Promise<CommandRecord> {
    const waiting = statusOf(commandId, status);
    const now = await h.hub.commands.get(org.orgId, commandId);
    if (now.operationStatus !== status) return waiting;
    h.hub.commands.emit('status', now); // releases the listener above
    return now;
  }
  function nextWake(deviceId: string, kind: string): Promise<WakeEvent> {
    return new Promise((resolve) => {
      const on = (e: WakeEvent) => {
        if (e.wake.deviceId === deviceId && e.outcome.kind === kind) {
          h.hub.push.worker.off('wake', on);
          resolve(e);
        }
      };
      h.hub.push.worker.on('wake', on);
    });
  }
  const operationIds = (activity: Json) => (activity['activityStatus'] as Json[]).map((s) => String(s['operationId']));
  const deviceOf = async (a: AndroidAgent) => (await h.hub.devices.byIdentifier('android', a.deviceIdentifier))!;
  const operationsOf = async (a: AndroidAgent) =>
    (await dm('GET', `/devices/android/${a.deviceIdentifier}/operations`)).body['operations'] as Json[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'android-e2e-'));
    fcm = new FcmSimulator();
    await fcm.start();
    const account = createServiceAccount('edgehub-e2e', fcm.tokenUrl);
    fcm.addServiceAccount(account);
    const keyFile = join(dir, 'service-account.json');
    await writeFile(keyFile, account.json, { mode: 0o600 });
    Object.assign(process.env, { HUB_FCM_SERVICE_ACCOUNT_FILE: keyFile, HUB_FCM_URL: fcm.url, HUB_FCM_TOKEN_URL: fcm.tokenUrl });
    h = await startHub();
    org = await newTenant(h, 'android-org');
    other = await newTenant(h, 'other-org');
    bearer = await clientCredentialsToken(h.baseUrl, org);
    otherBearer = await clientCredentialsToken(h.baseUrl, other);
    phone = new AndroidAgent({ baseUrl: h.baseUrl, oauthToken: bearer, fcm });
    quiet = new AndroidAgent({ baseUrl: h.baseUrl, oauthToken: bearer });
    await phone.enroll();
    await quiet.enroll();
    const product = await provision(
      new ApiClient({ baseUrl: h.baseUrl, accessKey: org.accessKey, accessSecret: org.accessSecret }),
      org.orgId,
      {
        productType: 'Device',
        deviceKeys: ['meter1'],
      },
    );
    mqttAssetId = product.devices[0]!.assetId;
    await h.hub.devices.enroll({ orgId: org.orgId, type: 'ios', deviceIdentifier: '00008030-000A1D2E3F4B5C6D', owner: 'apple-mdm' });
  });
  afterAll(async () => {
    await h?.close();
    await fcm?.stop();
    for (const k of ['HUB_FCM_SERVICE_ACCOUNT_FILE', 'HUB_FCM_URL', 'HUB_FCM_TOKEN_URL']) delete process.env[k];
    await rm(dir, { recursive: true, force: true });
  });

  it('enrollment: the device joins the OAuth2 token’s organization, its FCM token becomes the push token, not a property', async () => {
    const d = await deviceOf(phone);
    expect(d).toMatchObject({ orgId: org.orgId, type: 'android', status: 'ACTIVE', ownership: 'COPE', push: { token: phone.fcmToken } });
    expect(d.properties).toMatchObject({ IMEI: phone.deviceIdentifier, DEVICE_MODEL: 'Pixel 8' });
    expect(d.properties).not.toHaveProperty('FCM_TOKEN');
    expect(await phone.status()).toEqual({
      status: 200,
      body: { deviceIdentifier: phone.deviceIdentifier, enrolled: true, status: 'ACTIVE' },
    });
    // Enrollment needs an OAuth2 token.
    const anonymous = await fetch(`${h.baseUrl}/api/device-mgt/android/v1.0/devices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceIdentifier: '123456789' }),
    });
    expect(anonymous.status).toBe(401);
  });

  it('DEVICE_LOCK through the management REST → FCM data message → pending-operations → COMPLETED, listed beside iOS and MQTT devices', async () => {
    const before = fcm.count;
    const added = await dm('POST', '/devices/android/operations', {
      deviceIdentifiers: [phone.deviceIdentifier],
      operation: { code: 'DEVICE_LOCK', type: 'PROFILE', payload: { message: 'Lost: call 555-0100' } },
    });
    expect(added.status).toBe(201);
    const [opId] = operationIds(added.body);
    expect((await operationsOf(phone)).find((o) => o['id'] === opId)).toMatchObject({ code: 'DEVICE_LOCK' });
    await reach(opId!, 'COMPLETED');
    expect(phone.locked).toBe(true);
    expect(phone.lockMessage).toBe('Lost: call 555-0100');
    expect(fcm.count).toBeGreaterThan(before);
    expect(fcm.received.at(-1)).toMatchObject({ token: phone.fcmToken, data: { type: 'SYNC' }, android: { priority: 'HIGH' } });
    expect(phone.executed.find((o) => o.id === opId)).toMatchObject({
      code: 'DEVICE_LOCK',
      type: 'PROFILE',
      payLoad: { message: 'Lost: call 555-0100', isHardLockEnabled: false },
    });
    expect((await operationsOf(phone)).find((o) => o['id'] === opId)).toMatchObject({ code: 'DEVICE_LOCK', status: 'COMPLETED' });
    const activity = await dm('GET', `/activities/${String(added.body['activityId'])}`);
    expect(activity.body['activityStatus']).toEqual([expect.objectContaining({ status: 'COMPLETED' })]);
    const all = (await dm('GET', '/devices')).body['devices'] as Json[];
    expect(all.map((d) => [d['type'], d['id']])).toEqual(
      expect.arrayContaining([
        ['android', phone.deviceIdentifier],
        ['ios', '00008030-000A1D2E3F4B5C6D'],
        ['enos-mqtt', mqttAssetId],
      ]),
    );
  });

  it('DEVICE_INFO through the admin endpoint /admin/devices/info: the answer is stored and becomes the device’s properties', async () => {
    const added = await admin('info', [phone.deviceIdentifier]);
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ code: 'DEVICE_INFO', type: 'COMMAND' });
    const [opId] = operationIds(added.body);
    const done = await reach(opId!, 'COMPLETED');
    expect(done.result).toMatchObject({
      outcome: 'acknowledged',
      data: { deviceIdentifier: phone.deviceIdentifier, properties: expect.arrayContaining([{ name: 'BATTERY_LEVEL', value: '87' }]) },
    });
    expect((await deviceOf(phone)).properties).toMatchObject({ BATTERY_LEVEL: '87', OS_VERSION: '14' });
  });

  it('admin endpoints: lock-devices, ring and wipe produce activities; unknown and other organizations’ devices are INVALID; bad payloads and missing scopes are refused', async () => {
    const lock = await admin('lock-devices', {
      deviceIDs: [quiet.deviceIdentifier, 'no-such-device'],
      operation: { message: 'Hi', isHardLockEnabled: true },
    });
    expect(lock.status).toBe(201);
    expect(lock.body).toMatchObject({ code: 'DEVICE_LOCK', type: 'PROFILE' });
    expect((lock.body['activityStatus'] as Json[]).map((s) => s['status']).sort()).toEqual(['INVALID', 'PENDING']);
    const ring = await admin('ring', [quiet.deviceIdentifier]);
    expect(ring).toMatchObject({ status: 201, body: { code: 'DEVICE_RING', type: 'COMMAND' } });
    const wipe = await admin('wipe', { deviceIDs: [quiet.deviceIdentifier], operation: { pin: '1234' } });
    expect(wipe).toMatchObject({ status: 201, body: { code: 'WIPE_DATA' } });
    const pending = (await operationsOf(quiet)).length;
    expect(await admin('wipe', { deviceIDs: [quiet.deviceIdentifier], operation: { pin: 'x' } })).toMatchObject({ status: 400 });
    expect(await admin('lock-devices', { deviceIDs: [quiet.deviceIdentifier], operation: { message: 42 } })).toMatchObject({ status: 400 });
    expect((await admin('ring', { deviceIDs: [quiet.deviceIdentifier] })).status).toBe(400);
    const viewOnly = await clientCredentialsToken(h.baseUrl, org, 'dm:devices:view');
    expect((await admin('ring', [quiet.deviceIdentifier], viewOnly)).status).toBe(403);
    expect((await admin('ring', [quiet.deviceIdentifier], 'not-a-token-at-all-xxxxxxxx')).status).toBe(401);
    const foreign = await admin('ring', [quiet.deviceIdentifier], otherBearer);
    expect(foreign.status).toBe(201);
    expect(foreign.body['activityStatus']).toEqual([expect.objectContaining({ status: 'INVALID' })]);
    expect((await operationsOf(quiet)).length).toBe(pending);
    // The quiet agent polls: lock, ring, wipe in issue order.
    await quiet.poll();
    expect(quiet.executed.map((o) => o.code)).toEqual(['DEVICE_LOCK', 'DEVICE_RING', 'WIPE_DATA']);
    expect((await operationsOf(quiet)).map((o) => o['status'])).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect(quiet.wiped && quiet.locked && quiet.rings === 1).toBe(true);
  });

  it('management REST: an unknown operation code or a malformed payload is refused (400) and nothing is queued', async () => {
    const before = (await operationsOf(quiet)).length;
    const unknown = await dm('POST', '/devices/android/operations', {
      deviceIdentifiers: [quiet.deviceIdentifier],
      operation: { code: 'SELF_DESTRUCT' },
    });
    expect(unknown.status).toBe(400);
    const malformed = await dm('POST', '/devices/android/operations', {
      deviceIdentifiers: [quiet.deviceIdentifier],
      operation: { code: 'NOTIFICATION', payload: { messageTitle: 'no text' } },
    });
    expect(malformed.status).toBe(400);
    const bundle = await dm('POST', '/devices/android/operations', {
      deviceIdentifiers: [quiet.deviceIdentifier],
      operation: { code: 'POLICY_BUNDLE', payload: { policyId: 1, features: [{ featureCode: 'DEVICE_RING', content: {} }] } },
    });
    expect(bundle.status).toBe(400);
    expect((await operationsOf(quiet)).length).toBe(before);
  });

  it('agent bad input: unknown codes, malformed bodies, unknown operation ids, code mismatch, bad MONITOR answers, wrong tokens → documented errors, nothing changes', async () => {
    const added = await admin('ring', [quiet.deviceIdentifier]);
    const [opId] = operationIds(added.body);
    const path = `/devices/${quiet.deviceIdentifier}/pending-operations`;
    const expectRefused = async (body: unknown, status: number, reason: string, token?: string) => {
      const r = await quiet.call('PUT', path, body, token);
      expect(r, JSON.stringify(body)).toMatchObject({ status, body: { code: status, reason } });
    };
    await expectRefused({ id: opId }, 400, 'MalformedBody');
    await expectRefused([{ code: 'DEVICE_RING', status: 'COMPLETED' }], 400, 'MalformedBody');
    await expectRefused([{ id: opId, code: 'FORMAT_C', status: 'COMPLETED' }], 400, 'UnknownOperationCode');
    await expectRefused([{ id: opId, code: 'DEVICE_RING', status: 'DONE' }], 400, 'UnknownStatus');
    await expectRefused([{ id: opId, code: 'DEVICE_LOCK', status: 'COMPLETED' }], 400, 'CodeMismatch');
    // A good result beside one for an operation that is not this device's: nothing of the request is stored.
    await expectRefused(
      [
        { id: opId, code: 'DEVICE_RING', status: 'COMPLETED' },
        { id: '1000000000000000000', code: 'DEVICE_RING', status: 'COMPLETED' },
      ],
      404,
      'UnknownOperation',
    );
    const lockOfPhone = phone.executed.find((o) => o.code === 'DEVICE_LOCK')!.id;
    await expectRefused([{ id: lockOfPhone, code: 'DEVICE_LOCK', status: 'ERROR' }], 404, 'UnknownOperation');
    await expectRefused(null, 401, 'InvalidDeviceToken', phone.accessToken);
    await expectRefused(null, 401, 'InvalidDeviceToken', 'A'.repeat(43));
    const bare = await fetch(`${h.baseUrl}/api/device-mgt/android/v1.0${path}`, { method: 'PUT' });
    expect(bare.status).toBe(401);
    const notJson = await fetch(`${h.baseUrl}/api/device-mgt/android/v1.0${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${quiet.accessToken!}`, 'content-type': 'application/json' },
      body: '[{"id":',
    });
    expect(notJson.status).toBe(400);
    expect((await h.hub.commands.get(org.orgId, opId!)).operationStatus).toBe('PENDING');
    expect((await h.hub.commands.get(org.orgId, lockOfPhone)).operationStatus).toBe('COMPLETED');
    // MONITOR with a malformed compliance list.
    const monitor = await dm('POST', '/devices/android/operations', {
      deviceIdentifiers: [quiet.deviceIdentifier],
      operation: { code: 'MONITOR' },
    });
    const [monitorId] = operationIds(monitor.body);
    await expectRefused(
      [{ id: monitorId, code: 'MONITOR', status: 'COMPLETED', operationResponse: '[{"featureCode":"CAMERA"}]' }],
      400,
      'MalformedResponse',
    );
    await expectRefused([{ id: monitorId, code: 'MONITOR', status: 'COMPLETED', operationResponse: '{"nope' }], 400, 'MalformedResponse');
    expect((await h.hub.commands.get(org.orgId, monitorId!)).operationStatus).toBe('PENDING');
    await quiet.poll();
    expect((await h.hub.commands.get(org.orgId, opId!)).operationStatus).toBe('COMPLETED');
    expect((await h.hub.commands.get(org.orgId, monitorId!)).result).toMatchObject({ outcome: 'acknowledged', data: [] });
  });

  it('POLICY_BUNDLE then MONITOR: the agent’s per-feature compliance is stored as the MONITOR result', async () => {
    phone.nonCompliant.set('PASSCODE_POLICY', 'minLength 4 < 6');
    const bundle = await dm('POST', '/devices/android/operations', {
      deviceIdentifiers: [phone.deviceIdentifier],
      operation: {
        code: 'POLICY_BUNDLE',
        type: 'POLICY',
        payload: {
          policyId: 7,
          features: [
            { featureCode: 'PASSCODE_POLICY', content: { minLength: 6, requireAlphanumeric: true } },
            { featureCode: 'CAMERA', content: { enabled: false } },
          ],
        },
      },
    });
    expect(bundle.status).toBe(201);
    const [bundleId] = operationIds(bundle.body);
    await reach(bundleId!, 'COMPLETED');
    expect(phone.executed.find((o) => o.id === bundleId)!.payLoad).toEqual([
      { code: 'PASSCODE_POLICY', type: 'PROFILE', enabled: true, payLoad: { minLength: 6, requireAlphanumeric: true } },
      { code: 'CAMERA', type: 'PROFILE', enabled: true, payLoad: { enabled: false } },
    ]);
    const monitor = await dm('POST', '/devices/android/operations', {
      deviceIdentifiers: [phone.deviceIdentifier],
      operation: { code: 'MONITOR' },
    });
    const [monitorId] = operationIds(monitor.body);
    const rec = await reach(monitorId!, 'COMPLETED');
    expect(rec.result!.data).toEqual([
      { featureCode: 'PASSCODE_POLICY', compliance: false, message: 'minLength 4 < 6' },
      { featureCode: 'CAMERA', compliance: true },
    ]);
  });

  it('FCM says UNREGISTERED: the token is dropped, no pushes until the agent sends a new FCM_TOKEN; then the queued operations arrive', async () => {
    const d = await deviceOf(phone);
    fcm.unregister(phone.fcmToken!);
    const invalid = nextWake(d.id, 'token-invalid');
    const ring = await admin('ring', [phone.deviceIdentifier]);
    await invalid;
    expect((await deviceOf(phone)).push?.invalidSince).toEqual(expect.any(Number));
    const sent = fcm.count;
    const dropped = nextWake(d.id, 'dropped');
    const notify = await admin('send-notification', { deviceIDs: [phone.deviceIdentifier], operation: { messageText: 'Back soon' } });
    expect((await dropped).outcome).toMatchObject({ reason: 'no valid push token' });
    expect(fcm.count).toBe(sent);
    expect(await phone.rotateFcmToken()).toBe(200);
    const d2 = await deviceOf(phone);
    expect(d2.push).toMatchObject({ token: phone.fcmToken });
    expect(d2.push?.invalidSince).toBeUndefined();
    const [ringId] = operationIds(ring.body);
    const [notifyId] = operationIds(notify.body);
    const done = Promise.all([reach(ringId!, 'COMPLETED'), reach(notifyId!, 'COMPLETED')]);
    await admin('applications', [phone.deviceIdentifier]);
    await done;
    expect(phone.notifications).toContainEqual({ messageText: 'Back soon' });
  });

  it('FCM 429 QUOTA_EXCEEDED: the push worker retries with backoff, not before Retry-After, and the operation completes', async () => {
    const d = await deviceOf(phone);
    fcm.inject(phone.fcmToken!, { status: 429, errorCode: 'QUOTA_EXCEEDED', retryAfterSeconds: 1 });
    const retried = nextWake(d.id, 'retry-after');
    const sentAgain = nextWake(d.id, 'sent');
    const ring = await admin('ring', [phone.deviceIdentifier]);
    const [ringId] = operationIds(ring.body);
    const completed = reach(ringId!, 'COMPLETED');
    await retried;
    const t0 = Date.now();
    await sentAgain;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await completed;
  });

  it('disenrollment: status REMOVED, the device token stops working, queued operations end as ERROR', async () => {
    const agent = new AndroidAgent({ baseUrl: h.baseUrl, oauthToken: bearer });
    await agent.enroll();
    const ring = await admin('ring', [agent.deviceIdentifier]);
    const [ringId] = operationIds(ring.body);
    expect(await agent.disenroll()).toBe(200);
    expect((await h.hub.devices.byIdentifier('android', agent.deviceIdentifier))!.status).toBe('REMOVED');
    expect((await h.hub.commands.get(org.orgId, ringId!)).operationStatus).toBe('ERROR');
    expect((await agent.status()).status).toBe(401);
    // Enrolling again issues a new token; the old one stays dead.
    const old = agent.accessToken;
    await agent.enroll();
    expect((await agent.status()).status).toBe(200);
    expect((await agent.call('GET', `/devices/${agent.deviceIdentifier}/status`, undefined, old)).status).toBe(401);
  });
});
