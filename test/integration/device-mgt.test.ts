/**
 * The device-management REST (docs/DEVICE-MANAGEMENT.md, "Management REST", "Authentication"):
 * OAuth2 client credentials with scopes, one device listing over every type, operations as
 * activities with per-device status, groups, the organization boundary, the per-client rate limit.
 * The pulling device type here is the core's JSON test type; the Apple type has its own suite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTypeFactories } from '../../hub/src/device-types/plugins.js';
import { jsonPullDeviceType } from '../../hub/test/support/pull-device-type.js';
import { newTenant, provision, startHub, type RunningHub } from '../src/index.js';

type Json = Record<string, unknown>;

describe('device-management REST', () => {
  let h: RunningHub;
  let a: { orgId: string; accessKey: string; accessSecret: string };
  let b: { orgId: string; accessKey: string; accessSecret: string };
  let tokenA: string;
  let tokenB: string;
  let mqttAssetId: string;

  const token = async (id: string, secret: string, scope?: string) => {
    const r = await fetch(`${h.baseUrl}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }).toString(),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };
  const call = async (bearer: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${h.baseUrl}/api/device-mgt/v1.0${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };
  const pullAll = async (deviceId: string, session: string) => {
    for (;;) {
      const next = await h.hub.commands.pull.nextCommand({ deviceType: 'json-pull', deviceId }, session);
      if (!next) return;
      await h.hub.commands.pull.report({ deviceType: 'json-pull', deviceId }, session, {
        commandId: next.command.commandId,
        outcome: 'acknowledged',
        data: { ok: true },
      });
    }
  };

  beforeAll(async () => {
    deviceTypeFactories['json-pull'] = () => jsonPullDeviceType();
    h = await startHub({ dmRateLimitPerMinute: 60 });
    a = await newTenant(h, 'org-a');
    b = await newTenant(h, 'org-b');
    const product = await provision(
      new (await import('@edgehub/hub')).ApiClient({ baseUrl: h.baseUrl, accessKey: a.accessKey, accessSecret: a.accessSecret }),
      a.orgId,
      { productType: 'Device', deviceKeys: ['meter1'] },
    );
    mqttAssetId = product.devices[0]!.assetId;
    tokenA = (await token(a.accessKey, a.accessSecret)).body['access_token'] as string;
    tokenB = (await token(b.accessKey, b.accessSecret)).body['access_token'] as string;
  });
  afterAll(async () => {
    await h?.close();
    delete deviceTypeFactories['json-pull'];
  });

  it('issues client-credentials tokens and refuses bad clients, grants and scopes with RFC 6749 errors', async () => {
    expect(await token(a.accessKey, 'wrong')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await token('nobody', 'x')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await token(a.accessKey, a.accessSecret, 'dm:devices:view dm:root')).toMatchObject({
      status: 400,
      body: { error: 'invalid_scope' },
    });
    const r = await fetch(`${h.baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=password&client_id=${a.accessKey}&client_secret=${a.accessSecret}`,
    });
    expect([r.status, ((await r.json()) as Json)['error']]).toEqual([400, 'unsupported_grant_type']);
    const ok = await token(a.accessKey, a.accessSecret, 'dm:devices:view');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'dm:devices:view' });
    const narrow = ok.body['access_token'] as string;
    expect((await call(narrow, 'GET', '/devices')).status).toBe(200);
    expect(
      await call(narrow, 'POST', '/devices/json-pull/operations', { deviceIdentifiers: ['x'], operation: { code: 'DEVICE_LOCK' } }),
    ).toMatchObject({ status: 403 });
    expect((await call('not-a-token-at-all-xxxxxxxx', 'GET', '/devices')).status).toBe(401);
    const noAuth = await fetch(`${h.baseUrl}/api/device-mgt/v1.0/devices`);
    expect(noAuth.status).toBe(401);
  });

  it("lists devices of every type in one call: enrolled devices and the registry's MQTT devices", async () => {
    const enrolled = await call(tokenA, 'POST', '/device/agent/enroll', {
      type: 'json-pull',
      deviceIdentifier: 'phone-1',
      name: 'Phone 1',
      ownership: 'COPE',
      properties: [{ name: 'model', value: 'X' }],
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({ id: 'phone-1', type: 'json-pull', enrolmentInfo: { ownership: 'COPE', status: 'ACTIVE' } });
    const all = await call(tokenA, 'GET', '/devices');
    expect(all.body['count']).toBe(2);
    expect((all.body['devices'] as Json[]).map((d) => [d['type'], d['id']])).toEqual([
      ['json-pull', 'phone-1'],
      ['enos-mqtt', mqttAssetId],
    ]);
    expect(((await call(tokenA, 'GET', '/devices?type=enos-mqtt')).body['devices'] as Json[]).map((d) => d['id'])).toEqual([mqttAssetId]);
    expect(((await call(tokenA, 'GET', '/devices?ownership=COPE')).body['devices'] as Json[]).map((d) => d['id'])).toEqual(['phone-1']);
    expect((await call(tokenA, 'GET', '/devices?ownership=EVERYTHING')).status).toBe(400);
  });

  it('adds an operation as an activity with a status per device, and shows it COMPLETED with its history once the device answered', async () => {
    const added = await call(tokenA, 'POST', '/devices/json-pull/operations', {
      deviceIdentifiers: ['phone-1', 'ghost'],
      operation: { code: 'DEVICE_LOCK', payload: { message: 'call IT' } },
    });
    expect(added.status).toBe(201);
    const activityId = added.body['activityId'] as string;
    expect(activityId).toMatch(/^ACTIVITY_\d+$/);
    expect((added.body['activityStatus'] as Json[]).map((s) => [(s['deviceIdentifier'] as Json)['id'], s['status']])).toEqual([
      ['phone-1', 'PENDING'],
      ['ghost', 'INVALID'],
    ]);
    const device = await h.hub.devices.byIdentifier('json-pull', 'phone-1');
    await pullAll(device!.id, 's1');
    const activity = await call(tokenA, 'GET', `/activities/${activityId}`);
    expect((activity.body['activityStatus'] as Json[])[0]).toMatchObject({
      status: 'COMPLETED',
      responses: [{ response: { outcome: 'acknowledged', data: { ok: true } } }],
    });
    const ops = await call(tokenA, 'GET', '/devices/json-pull/phone-1/operations');
    expect(ops.body['count']).toBe(1);
    const op = (ops.body['operations'] as Json[])[0]!;
    expect(op).toMatchObject({ code: 'DEVICE_LOCK', status: 'COMPLETED', activityId, payload: { message: 'call IT' } });
    expect((op['history'] as Json[]).map((e) => e['status'])).toEqual(['pending', 'sent', 'acknowledged']);
    expect(
      (await call(tokenA, 'POST', '/devices/json-pull/operations', { deviceIdentifiers: ['phone-1'], operation: { code: 'FORMAT_DISK' } }))
        .status,
    ).toBe(400);
    expect(
      (
        await call(tokenA, 'POST', '/devices/no-such-type/operations', {
          deviceIdentifiers: ['phone-1'],
          operation: { code: 'DEVICE_LOCK' },
        })
      ).status,
    ).toBe(404);
  });

  it("lists an MQTT device's commands in the same operations call", async () => {
    const added = await call(tokenA, 'POST', '/devices/enos-mqtt/operations', {
      deviceIdentifiers: [mqttAssetId],
      operation: { code: 'reboot', payload: { delay: 1 } },
      pendingTtlSeconds: 600,
    });
    expect(added.status).toBe(201);
    const ops = await call(tokenA, 'GET', `/devices/enos-mqtt/${mqttAssetId}/operations`);
    expect((ops.body['operations'] as Json[]).map((o) => [o['code'], o['status']])).toEqual([['reboot', 'PENDING']]);
  });

  it('sends an operation to the members of a group', async () => {
    await call(tokenA, 'POST', '/device/agent/enroll', { type: 'json-pull', deviceIdentifier: 'phone-2' });
    const g = await call(tokenA, 'POST', '/groups', { name: 'field team' });
    expect(g.status).toBe(201);
    const groupId = g.body['id'] as string;
    expect((await call(tokenA, 'POST', `/groups/id/${groupId}/devices/add`, [{ id: 'phone-2', type: 'json-pull' }])).status).toBe(200);
    expect(((await call(tokenA, 'GET', `/devices?groupId=${groupId}`)).body['devices'] as Json[]).map((d) => d['id'])).toEqual(['phone-2']);
    const added = await call(tokenA, 'POST', '/devices/json-pull/operations', { groupIds: [groupId], operation: { code: 'DEVICE_INFO' } });
    expect((added.body['activityStatus'] as Json[]).map((s) => (s['deviceIdentifier'] as Json)['id'])).toEqual(['phone-2']);
    expect((await call(tokenA, 'POST', `/groups/id/${groupId}/devices/add`, [{ id: 'ghost', type: 'json-pull' }])).status).toBe(404);
  });

  it('renames a group and changes its description; its members stay; a taken name is 409 and changes nothing', async () => {
    const g = await call(tokenA, 'POST', '/groups', { name: 'night shift' });
    const groupId = g.body['id'] as string;
    await call(tokenA, 'POST', '/device/agent/enroll', { type: 'json-pull', deviceIdentifier: 'phone-3' });
    await call(tokenA, 'POST', `/groups/id/${groupId}/devices/add`, [{ id: 'phone-3', type: 'json-pull' }]);
    const edited = await call(tokenA, 'PUT', `/groups/id/${groupId}`, { name: 'late shift', description: 'after 22:00' });
    expect(edited).toMatchObject({ status: 200, body: { id: groupId, name: 'late shift', description: 'after 22:00' } });
    expect((await call(tokenA, 'GET', `/groups/id/${groupId}`)).body).toMatchObject({ name: 'late shift', description: 'after 22:00' });
    expect(((await call(tokenA, 'GET', `/devices?groupId=${groupId}`)).body['devices'] as Json[]).map((d) => d['id'])).toEqual(['phone-3']);
    await call(tokenA, 'POST', '/groups', { name: 'day shift' });
    expect((await call(tokenA, 'PUT', `/groups/id/${groupId}`, { name: 'day shift' })).status).toBe(409);
    expect((await call(tokenA, 'GET', `/groups/id/${groupId}`)).body).toMatchObject({ name: 'late shift' });
    expect((await call(tokenA, 'PUT', `/groups/id/${groupId}`, {})).status).toBe(400);
    expect((await call(tokenB, 'PUT', `/groups/id/${groupId}`, { name: 'stolen' })).status).toBe(404);
  });

  it("keeps organizations apart: another org's devices, activities and groups are not found and cannot be commanded or enrolled", async () => {
    const activityOfA = (
      await call(tokenA, 'POST', '/devices/json-pull/operations', { deviceIdentifiers: ['phone-1'], operation: { code: 'DEVICE_INFO' } })
    ).body['activityId'] as string;
    const groupOfA = ((await call(tokenA, 'GET', '/groups')).body['deviceGroups'] as Json[])[0]!['id'] as string;
    expect((await call(tokenB, 'GET', '/devices')).body).toEqual({ devices: [], count: 0 });
    expect((await call(tokenB, 'GET', '/devices/json-pull/phone-1')).status).toBe(404);
    expect((await call(tokenB, 'GET', `/devices/enos-mqtt/${mqttAssetId}`)).status).toBe(404);
    expect((await call(tokenB, 'GET', '/devices/json-pull/phone-1/operations')).status).toBe(404);
    expect((await call(tokenB, 'GET', `/activities/${activityOfA}`)).status).toBe(404);
    expect((await call(tokenB, 'GET', `/groups/id/${groupOfA}`)).status).toBe(404);
    const before = (await call(tokenA, 'GET', '/devices/json-pull/phone-1/operations')).body['count'];
    const cross = await call(tokenB, 'POST', '/devices/json-pull/operations', {
      deviceIdentifiers: ['phone-1'],
      operation: { code: 'DEVICE_LOCK' },
    });
    expect((cross.body['activityStatus'] as Json[]).map((s) => s['status'])).toEqual(['INVALID']);
    expect((await call(tokenA, 'GET', '/devices/json-pull/phone-1/operations')).body['count']).toBe(before);
    expect((await call(tokenB, 'POST', '/device/agent/enroll', { type: 'json-pull', deviceIdentifier: 'phone-1' })).status).toBe(409);
    expect((await call(tokenB, 'DELETE', '/device/agent/enroll/json-pull/phone-1')).status).toBe(404);
    expect((await call(tokenA, 'GET', '/devices/json-pull/phone-1')).body).toMatchObject({ enrolmentInfo: { status: 'ACTIVE' } });
  });

  it('rate limits each OAuth2 client on its own', async () => {
    const c = await newTenant(h, 'org-c');
    const tokenC = (await token(c.accessKey, c.accessSecret)).body['access_token'] as string;
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await call(tokenC, 'GET', '/device-types')).status);
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    expect(statuses[60]).toBe(429);
    expect((await call(tokenB, 'GET', '/device-types')).status).toBe(200);
  });
});
