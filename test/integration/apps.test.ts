/**
 * Application management on the real hub (docs/DEVICE-MANAGEMENT.md, "Applications"): a release
 * through its life cycle, the store listing, an install to a group at a scheduled time (the hub's
 * clock moved, the stored schedule swept) that becomes one InstallApplication per simulated iPhone,
 * the devices' answers reflected as installed apps, and bad input refused with nothing changed.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import plist from 'plist';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApnsSimulator, IphoneAgent, issue, type SimCa } from '@edgehub/simulators/apple';
import { startAppleSandbox, type AppleSandbox } from '@edgehub/simulators/apple/sandbox';
import { openAppManagement } from '../../hub/src/device-management/apps/app-management.js';
import { runningLeaseMs, subscriptionSpec } from '../../hub/src/device-management/apps/app-store.js';
import { appOperation } from '../../hub/src/device-management/apps/operations.js';
import type { DeviceAppRecord, SubscriptionRecord } from '../../hub/src/device-management/apps/records.js';
import { newCommandId } from '@edgehub/shared';
import { clientCredentialsToken, newTenant, startHub, type RunningHub } from '../src/index.js';

const topic = 'com.apple.mgmt.External.5e2a9c1d-7b3f-4a6e-8d9c-0f1e2d3c4b5a';
const publicUrl = 'https://hub.example.test';
type Json = Record<string, unknown>;

describe('application management: publisher, store, scheduled installs to iPhones', () => {
  let h: RunningHub;
  let apns: ApnsSimulator;
  let deviceCa: SimCa;
  let sandbox: AppleSandbox;
  let phones: IphoneAgent[];
  let bearer: string;
  let otherBearer: string;
  let other: { accessKey: string; accessSecret: string };
  const artifact = Buffer.from('IPA'.repeat(500));

  const call = async (base: string, method: string, path: string, body?: unknown, as = bearer) => {
    const raw = Buffer.isBuffer(body);
    const r = await fetch(`${h.baseUrl}${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${as}`,
        ...(body !== undefined ? { 'content-type': raw ? 'application/octet-stream' : 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: raw ? body : JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };
  const pub = (method: string, path: string, body?: unknown, as?: string) =>
    call('/api/application-mgt-publisher/v1.0', method, path, body, as);
  const store = (method: string, path: string, body?: unknown, as?: string) =>
    call('/api/application-mgt-store/v1.0', method, path, body, as);
  const dm = (method: string, path: string, body?: unknown) => call('/api/device-mgt/v1.0', method, path, body);
  const move = (uuid: string, action: string, reason?: string, as?: string) =>
    pub('POST', `/applications/life-cycle/${uuid}`, { action, ...(reason ? { reason } : {}) }, as);

  /** Resolves once `n` device apps reached `status` (the store's event, no polling). */
  const deviceApps = (n: number, status: DeviceAppRecord['status']) =>
    new Promise<DeviceAppRecord[]>((resolve) => {
      const seen = new Map<string, DeviceAppRecord>();
      const on = (d: DeviceAppRecord) => {
        if (d.status === status) seen.set(d.id, d);
        if (seen.size >= n) {
          h.hub.apps.off('deviceApp', on);
          resolve([...seen.values()]);
        }
      };
      h.hub.apps.on('deviceApp', on);
    });

  /** Creates an app with an ios release carrying an uploaded artifact. */
  const newRelease = async (name: string, version = '1.0.0') => {
    const app = await pub('POST', '/applications/ent-app', { name, description: 'Field service', category: 'business' });
    expect(app.status).toBe(201);
    const rel = await pub('POST', `/applications/${String(app.body['id'])}/releases`, {
      platform: 'ios',
      packageName: `com.example.${name.toLowerCase()}`,
      version,
    });
    expect(rel.status).toBe(201);
    const uuid = rel.body['uuid'] as string;
    const up = await pub('PUT', `/applications/release/${uuid}/artifact?fileName=app.ipa`, artifact);
    expect(up.status).toBe(200);
    return { appId: app.body['id'] as string, uuid };
  };
  const publish = async (uuid: string) => {
    for (const s of ['IN-REVIEW', 'APPROVED', 'PUBLISHED']) expect((await move(uuid, s)).status).toBe(200);
  };
  /** Moves the hub's clock; bearer tokens expire with it, so new ones are fetched. */
  const advance = async (ms: number) => {
    h.advanceClock(ms);
    bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);
    otherBearer = await clientCredentialsToken(h.baseUrl, other);
  };
  const operationsOf = async (udid: string) => (await dm('GET', `/devices/ios/${udid}/operations`)).body['operations'] as Json[];

  beforeAll(async () => {
    sandbox = await startAppleSandbox({ topic });
    ({ apns, deviceCa } = sandbox);
    Object.assign(process.env, sandbox.env);
    // Apple installs enterprise apps from an https manifest: the hub's public URL says https.
    h = await startHub({ publicBaseUrl: publicUrl, appMaxArtifactBytes: 4096 });
    process.env['HUB_IOS_ORG_ID'] = h.adminCreds.orgId;
    phones = [];
    for (const cn of ['iPhone A', 'iPhone B', 'iPhone C']) {
      const p = new IphoneAgent({
        serverUrl: `${h.baseUrl}/mdm`,
        topic,
        identity: await issue(deviceCa, { subject: { CN: cn } }),
        apns,
        // The manifest URL names the hub's public (https) address; the phone reaches the hub here.
        fetchManifest: (url) => fetch(url.replace(publicUrl, h.baseUrl)),
      });
      await p.enroll();
      phones.push(p);
    }
    bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);
    other = await newTenant(h, 'org-other');
    otherBearer = await clientCredentialsToken(h.baseUrl, other);
  });
  afterAll(async () => {
    await h?.close();
    await sandbox?.stop();
  });

  it('a release goes through its life cycle, every transition recorded; invalid moves are refused (409) and change nothing', async () => {
    const { uuid } = await newRelease('Inspect');
    expect((await pub('GET', `/applications/release/${uuid}`)).body).toMatchObject({
      state: 'CREATED',
      artifact: { kind: 'uploaded', size: artifact.length, sha256: createHash('sha256').update(artifact).digest('hex') },
    });
    // Skipping review, and publishing from CREATED, are not moves of the life cycle.
    for (const bad of ['APPROVED', 'PUBLISHED', 'RETIRED']) {
      const r = await move(uuid, bad);
      expect(r).toMatchObject({ status: 409, body: { code: 409 } });
      expect(String(r.body['message'])).toContain('allowed: IN-REVIEW');
    }
    expect((await move(uuid, 'IN-REVIEW')).body['state']).toBe('IN-REVIEW');
    expect(await move(uuid, 'REJECTED')).toMatchObject({ status: 400 }); // a rejection needs a reason
    expect((await move(uuid, 'REJECTED', 'crashes on start')).body['state']).toBe('REJECTED');
    expect((await move(uuid, 'PUBLISHED')).status).toBe(409);
    expect((await move(uuid, 'CREATED', 'fixed')).body['state']).toBe('CREATED');
    // While CREATED, the artifact may change; after review it may not.
    await publish(uuid);
    expect((await pub('PUT', `/applications/release/${uuid}/artifact`, artifact)).status).toBe(409);
    expect((await move(uuid, 'DEPRECATED', 'v2 is out')).body['state']).toBe('DEPRECATED');
    expect((await move(uuid, 'RETIRED')).body['state']).toBe('RETIRED');
    const final = await move(uuid, 'PUBLISHED');
    expect(final.status).toBe(409);
    expect(String(final.body['message'])).toContain('final');
    const history = await pub('GET', `/applications/life-cycle/state-changes/${uuid}`);
    expect(history.body['state']).toBe('RETIRED');
    const changes = history.body['stateChanges'] as Json[];
    expect(changes.map((c) => [c['from'], c['to']])).toEqual([
      [null, 'CREATED'],
      ['CREATED', 'IN-REVIEW'],
      ['IN-REVIEW', 'REJECTED'],
      ['REJECTED', 'CREATED'],
      ['CREATED', 'IN-REVIEW'],
      ['IN-REVIEW', 'APPROVED'],
      ['APPROVED', 'PUBLISHED'],
      ['PUBLISHED', 'DEPRECATED'],
      ['DEPRECATED', 'RETIRED'],
    ]);
    expect(changes[2]).toMatchObject({ by: h.adminCreds.accessKey, reason: 'crashes on start', at: expect.any(Number) as number });
  });

  it('review decisions need the review scope; a release without an artifact cannot go to review', async () => {
    const app = await pub('POST', '/applications/ent-app', { name: 'NoFile' });
    const rel = await pub('POST', `/applications/${String(app.body['id'])}/releases`, {
      platform: 'ios',
      packageName: 'com.example.nofile',
      version: '1',
    });
    const uuid = rel.body['uuid'] as string;
    expect(await move(uuid, 'IN-REVIEW')).toMatchObject({ status: 409 });
    expect((await pub('GET', `/applications/release/${uuid}`)).body['state']).toBe('CREATED');
    await pub('PUT', `/applications/release/${uuid}/artifact`, Buffer.from('x'));
    const author = await clientCredentialsToken(h.baseUrl, h.adminCreds, 'am:publisher:view am:publisher:manage');
    expect((await move(uuid, 'IN-REVIEW', undefined, author)).status).toBe(200);
    expect(await move(uuid, 'APPROVED', undefined, author)).toMatchObject({ status: 403 });
    expect((await pub('GET', `/applications/release/${uuid}`)).body['state']).toBe('IN-REVIEW');
  });

  it('an artifact over the size limit is refused (413) and nothing is kept', async () => {
    const app = await pub('POST', '/applications/ent-app', { name: 'Huge' });
    const rel = await pub('POST', `/applications/${String(app.body['id'])}/releases`, {
      platform: 'ios',
      packageName: 'com.example.huge',
      version: '1',
    });
    const uuid = rel.body['uuid'] as string;
    expect(await pub('PUT', `/applications/release/${uuid}/artifact`, Buffer.alloc(8192, 1))).toMatchObject({ status: 413 });
    expect((await pub('GET', `/applications/release/${uuid}`)).body['artifact']).toBeUndefined();
    expect((await readdir(join(h.dataDir, 'apps', 'artifacts'))).filter((f) => f.startsWith(uuid))).toEqual([]);
  });

  it('publishing then installing to a group at a scheduled time: one InstallApplication per device at that time, results reflected', async () => {
    const { appId, uuid } = await newRelease('Survey');
    await publish(uuid);
    // An android release still in preparation does not list the app for android.
    await pub('POST', `/applications/${appId}/releases`, { platform: 'android', packageName: 'com.example.survey', version: '1.0.0' });
    const listed = await store('GET', '/applications?platform=ios&name=Sur');
    expect(listed.body['count']).toBe(1);
    expect((listed.body['applications'] as Json[])[0]).toMatchObject({ id: appId, releases: [{ uuid, state: 'PUBLISHED' }] });
    expect((await store('GET', '/applications?platform=android&name=Sur')).body['count']).toBe(0);

    const group = await dm('POST', '/groups', { name: 'field' });
    await dm(
      'POST',
      `/groups/id/${String(group.body['id'])}/devices/add`,
      phones.slice(0, 2).map((p) => ({ id: p.udid, type: 'ios' })),
    );
    const at = Date.now() + 3_600_000;
    const scheduled = await store('POST', `/subscription/${uuid}/group/install?timestamp=${new Date(at).toISOString()}`, [
      group.body['id'],
    ]);
    expect(scheduled).toMatchObject({ status: 202, body: { state: 'SCHEDULED', action: 'install', platform: 'ios' } });
    // Not due yet: a sweep does nothing, no operation exists.
    await h.hub.apps.sweep();
    for (const p of phones) expect((await operationsOf(p.udid)).filter((o) => o['code'] === 'INSTALL_APPLICATION')).toEqual([]);

    const installed = deviceApps(2, 'INSTALLED');
    await advance(3_600_000);
    await h.hub.apps.sweep();
    const done = await store('GET', `/subscriptions/${String(scheduled.body['id'])}`);
    expect(done.body).toMatchObject({ state: 'DONE', activityId: expect.stringMatching(/^ACTIVITY_/) as string });
    const activity = await dm('GET', `/activities/${String(done.body['activityId'])}`);
    expect(activity.body['code']).toBe('INSTALL_APPLICATION');
    expect((activity.body['activityStatus'] as Json[]).map((s) => (s['deviceIdentifier'] as Json)['id']).sort()).toEqual(
      phones
        .slice(0, 2)
        .map((p) => p.udid)
        .sort(),
    );
    await installed;
    for (const p of phones.slice(0, 2)) expect(p.executed.map((e) => e.requestType)).toContain('InstallApplication');
    expect(phones[2]!.executed.map((e) => e.requestType)).not.toContain('InstallApplication');
    // Each phone fetched the manifest and installed the app it names.
    for (const p of phones.slice(0, 2)) expect(p.apps.get('com.example.survey')).toBe('Survey');
    const onA = await store('GET', `/devices/ios/${phones[0]!.udid}/applications`);
    expect(onA.body['applications']).toEqual([
      expect.objectContaining({ appId, releaseUuid: uuid, packageName: 'com.example.survey', version: '1.0.0', status: 'INSTALLED' }),
    ]);
    expect((await store('GET', `/subscription/${uuid}/devices?status=INSTALLED`)).body['count']).toBe(2);

    // The operation carried an https manifest URL the hub serves (signed), naming the bundle and the signed artifact.
    const op = (await operationsOf(phones[0]!.udid)).find((o) => o['code'] === 'INSTALL_APPLICATION')!;
    const manifestUrl = (op['payload'] as Json)['ManifestURL'] as string;
    expect(manifestUrl.startsWith(`${publicUrl}/apps/v1/releases/${uuid}/manifest.plist?`)).toBe(true);
    const local = (u: string) => u.replace(publicUrl, h.baseUrl);
    const manifest = plist.parse(await (await fetch(local(manifestUrl))).text()) as {
      items: { assets: { url: string }[]; metadata: Record<string, string> }[];
    };
    expect(manifest.items[0]!.metadata).toMatchObject({ 'bundle-identifier': 'com.example.survey', 'bundle-version': '1.0.0' });
    const file = Buffer.from(await (await fetch(local(manifest.items[0]!.assets[0]!.url))).arrayBuffer());
    expect(file.equals(artifact)).toBe(true);
    expect((await fetch(local(manifestUrl.replace(/signature=[0-9a-f]+/, `signature=${'0'.repeat(64)}`)))).status).toBe(403);

    // The user deletes the app on phone B: its next application list shows it gone.
    phones[1]!.apps.delete('com.example.survey');
    const gone = deviceApps(1, 'UNINSTALLED');
    await dm('POST', '/devices/ios/operations', { deviceIdentifiers: [phones[1]!.udid], operation: { code: 'APPLICATION_LIST' } });
    expect((await gone)[0]).toMatchObject({ deviceIdentifier: phones[1]!.udid, appId });

    // Uninstall from one device: RemoveApplication, reflected as UNINSTALLED.
    const removed = deviceApps(1, 'UNINSTALLED');
    expect((await store('POST', `/subscription/${uuid}/devices/uninstall`, [phones[0]!.udid])).status).toBe(201);
    await removed;
    expect(phones[0]!.executed.map((e) => e.requestType)).toContain('RemoveApplication');
    expect((await store('GET', `/devices/ios/${phones[0]!.udid}/applications`)).body['applications']).toEqual([
      expect.objectContaining({ appId, status: 'UNINSTALLED' }),
    ]);
  });

  it('a stored schedule survives a restart: a fresh app store over the same store runs it, once', async () => {
    const { uuid } = await newRelease('Later');
    await publish(uuid);
    const at = Date.now() + 7_200_000 + 60_000;
    const s = await store('POST', `/subscription/${uuid}/devices/install?timestamp=${at}`, [phones[2]!.udid]);
    expect(s.status).toBe(202);
    // Another app store instance (as after a restart, or on a second management node): nothing in memory.
    const clock = () => at + 1;
    const fresh = await openAppManagement(h.hub.store, h.hub.deviceManagement, h.hub.commands, {
      dataDir: h.dataDir,
      maxArtifactBytes: 4096,
      publicBaseUrl: () => publicUrl,
      log: pino({ level: 'silent' }),
      clock,
    });
    const installed = deviceApps(1, 'INSTALLED');
    fresh.on('deviceApp', (d) => h.hub.apps.emit('deviceApp', d));
    await Promise.all([fresh.sweep(), fresh.sweep()]);
    const after = await store('GET', `/subscriptions/${String(s.body['id'])}`);
    expect(after.body['state']).toBe('DONE');
    await installed;
    const installs = (await operationsOf(phones[2]!.udid)).filter((o) => o['code'] === 'INSTALL_APPLICATION');
    expect(installs).toHaveLength(1);
  });

  it('bad input: installs of unpublished releases, unknown releases and groups, targets naming no device → documented errors, nothing stored or queued', async () => {
    const app = await pub('POST', '/applications/ent-app', { name: 'Draft' });
    const rel = await pub('POST', `/applications/${String(app.body['id'])}/releases`, {
      platform: 'ios',
      packageName: 'com.example.draft',
      version: '0.1',
    });
    const uuid = rel.body['uuid'] as string;
    const before = await store('GET', '/subscriptions');
    const opsBefore = (await operationsOf(phones[1]!.udid)).length;
    expect(await store('POST', `/subscription/${uuid}/devices/install`, [phones[1]!.udid])).toMatchObject({
      status: 409,
      body: { code: 409 },
    });
    expect(await store('POST', `/subscription/${uuid}/devices/install?timestamp=${Date.now() + 60_000}`, [phones[1]!.udid])).toMatchObject({
      status: 409,
    });
    expect(await store('POST', `/subscription/${'f'.repeat(32)}/devices/install`, [phones[1]!.udid])).toMatchObject({ status: 404 });
    expect(await store('POST', `/subscription/${'f'.repeat(32)}/devices/install`, [phones[1]!.udid])).toMatchObject({ status: 404 });
    expect(await pub('GET', `/applications/${'e'.repeat(32)}`)).toMatchObject({ status: 404 });
    expect(
      await pub('POST', `/applications/${'e'.repeat(32)}/releases`, { platform: 'ios', packageName: 'a.b', version: '1' }),
    ).toMatchObject({ status: 404 });
    const { uuid: live } = await newRelease('Live');
    await publish(live);
    expect(await store('POST', `/subscription/${live}/group/install`, ['no-such-group'])).toMatchObject({ status: 404 });
    expect(await store('POST', `/subscription/${live}/role/install`, ['nobody-has-this-role'])).toMatchObject({ status: 400 });
    expect(await store('POST', `/subscription/${live}/devices/install`, ['not-enrolled'])).toMatchObject({ status: 400 });
    expect(await store('POST', `/subscription/${live}/devices/install?timestamp=tomorrow`, [phones[1]!.udid])).toMatchObject({
      status: 400,
    });
    expect(await store('POST', `/subscription/${live}/devices/upgrade`, [phones[1]!.udid])).toMatchObject({ status: 400 });
    expect(await pub('POST', '/applications/ent-app', { name: 'Live' })).toMatchObject({ status: 409 });
    expect((await store('GET', '/subscriptions')).body['count']).toBe(before.body['count']);
    expect((await operationsOf(phones[1]!.udid)).length).toBe(opsBefore);
    // Another organization sees none of it.
    expect(await store('POST', `/subscription/${live}/devices/install`, [phones[1]!.udid], otherBearer)).toMatchObject({ status: 404 });
    expect((await store('GET', '/applications', undefined, otherBearer)).body['count']).toBe(0);
    expect(await pub('GET', `/applications/release/${live}`, undefined, otherBearer)).toMatchObject({ status: 404 });
  });

  it('android: installing to a user becomes INSTALL_APPLICATION JSON for each of their phones; the agent downloads, answers, results reflected', async () => {
    const android = '/api/device-mgt/android/v1.0';
    const agents: { id: string; token: string }[] = [];
    for (const id of ['android-1', 'android-2']) {
      const r = await call(android, 'POST', '/devices', { deviceIdentifier: id, ownership: 'COPE' });
      expect(r.status).toBe(201);
      agents.push({ id, token: r.body['accessToken'] as string });
    }
    const exchange = async (a: { id: string; token: string }, results: unknown) =>
      (await call(android, 'PUT', `/devices/${a.id}/pending-operations`, results, a.token)).body as unknown as Json[];
    const created = await pub('POST', '/applications/ent-app', { name: 'Meter', category: 'utilities' });
    const appId = created.body['id'] as string;
    const rel = await pub('POST', `/applications/${appId}/releases`, {
      platform: 'android',
      packageName: 'com.example.meter',
      version: '3.1',
    });
    const uuid = rel.body['uuid'] as string;
    const apk = Buffer.from('APK'.repeat(300));
    await pub('PUT', `/applications/release/${uuid}/artifact?fileName=meter.apk`, apk);
    await publish(uuid);
    expect((await store('GET', '/applications?platform=android')).body['applications']).toEqual([
      expect.objectContaining({ id: appId, releases: [expect.objectContaining({ uuid, platform: 'android' })] }),
    ]);

    // The devices' owner is the OAuth2 client that enrolled them.
    const sub = await store('POST', `/subscription/${uuid}/user/install`, [h.adminCreds.accessKey]);
    expect(sub).toMatchObject({ status: 201, body: { state: 'DONE', platform: 'android' } });
    const ops = await Promise.all(agents.map((a) => exchange(a, null)));
    const install = ops.map((list) => list.find((o) => o['code'] === 'INSTALL_APPLICATION')!);
    for (const op of install) {
      expect(op).toMatchObject({ type: 'PROFILE', payLoad: { appIdentifier: 'com.example.meter', type: 'enterprise', version: '3.1' } });
    }
    const url = (install[0]!['payLoad'] as Json)['url'] as string;
    expect(url.startsWith(`${publicUrl}/apps/v1/releases/${uuid}/artifact?`)).toBe(true);
    const got = Buffer.from(await (await fetch(url.replace(publicUrl, h.baseUrl))).arrayBuffer());
    expect(got.equals(apk)).toBe(true);

    const installed = deviceApps(1, 'INSTALLED');
    const failed = deviceApps(1, 'INSTALL_FAILED');
    await exchange(agents[0]!, [{ id: install[0]!['id'], code: 'INSTALL_APPLICATION', status: 'COMPLETED' }]);
    await exchange(agents[1]!, [
      { id: install[1]!['id'], code: 'INSTALL_APPLICATION', status: 'ERROR', operationResponse: 'INSTALL_FAILED_INSUFFICIENT_STORAGE' },
    ]);
    await Promise.all([installed, failed]);
    expect((await store('GET', '/devices/android/android-1/applications')).body['applications']).toEqual([
      expect.objectContaining({ appId, version: '3.1', status: 'INSTALLED' }),
    ]);
    expect((await store('GET', '/devices/android/android-2/applications')).body['applications']).toEqual([
      expect.objectContaining({ appId, status: 'INSTALL_FAILED', error: 'INSTALL_FAILED_INSUFFICIENT_STORAGE' }),
    ]);

    // An update of the app reaches only the phone that has it.
    const next = await pub('POST', `/applications/${appId}/releases`, {
      platform: 'android',
      packageName: 'com.example.meter',
      version: '3.2',
      artifactUrl: 'https://downloads.example.test/meter-3.2.apk',
    });
    const uuid2 = next.body['uuid'] as string;
    await publish(uuid2);
    const upd = await store('POST', `/subscription/${uuid2}/user/update`, [h.adminCreds.accessKey]);
    expect(upd.status).toBe(201);
    const activity = await dm('GET', `/activities/${String(upd.body['activityId'])}`);
    expect((activity.body['activityStatus'] as Json[]).map((x) => (x['deviceIdentifier'] as Json)['id'])).toEqual(['android-1']);
    const updOp = (await exchange(agents[0]!, null)).find((o) => o['code'] === 'INSTALL_APPLICATION')!;
    expect(updOp['payLoad']).toMatchObject({ url: 'https://downloads.example.test/meter-3.2.apk', version: '3.2' });

    // An uninstall to a role reaches the devices whose owner holds it (the device's `roles` property).
    await dm('PUT', '/device/agent/enroll/android/android-2', { properties: [{ name: 'roles', value: 'field, ops' }] });
    const byRole = await store('POST', `/subscription/${uuid}/role/uninstall`, ['ops']);
    expect(byRole.status).toBe(201);
    expect(await exchange(agents[0]!, null)).toEqual([expect.objectContaining({ code: 'INSTALL_APPLICATION' })]);
    const removal = (await exchange(agents[1]!, null)).find((o) => o['code'] === 'UNINSTALL_APPLICATION')!;
    expect(removal['payLoad']).toEqual({ appIdentifier: 'com.example.meter', type: 'enterprise' });
  });

  it('an install the device type cannot express (iOS from an http manifest URL) is refused whole: 400, nothing stored or queued', async () => {
    const { uuid } = await newRelease('PlainHttp');
    await publish(uuid);
    const plain = await openAppManagement(h.hub.store, h.hub.deviceManagement, h.hub.commands, {
      dataDir: h.dataDir,
      maxArtifactBytes: 4096,
      publicBaseUrl: () => 'http://hub.example.test',
      log: pino({ level: 'silent' }),
      clock: Date.now,
    });
    const before = (await operationsOf(phones[1]!.udid)).length;
    const caller = { orgId: h.adminCreds.orgId, clientId: h.adminCreds.accessKey, scopes: [] };
    await expect(
      plain.subscribe(caller, uuid, { action: 'install', targetType: 'devices', targets: [phones[1]!.udid] }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('https') as string,
    });
    expect((await store('GET', `/subscriptions?releaseUuid=${uuid}`)).body['count']).toBe(0);
    expect((await operationsOf(phones[1]!.udid)).length).toBe(before);
  });

  it('a scheduled install can be cancelled until it runs', async () => {
    const { uuid } = await newRelease('Cancelled');
    await publish(uuid);
    const s = await store('POST', `/subscription/${uuid}/devices/install?timestamp=${Date.now() + 86_400_000}`, [phones[1]!.udid]);
    const id = String(s.body['id']);
    expect((await store('DELETE', `/subscriptions/${id}`)).body['state']).toBe('CANCELLED');
    expect(await store('DELETE', `/subscriptions/${id}`)).toMatchObject({ status: 409 });
    await advance(86_400_000);
    await h.hub.apps.sweep();
    expect((await store('GET', `/subscriptions/${id}`)).body['state']).toBe('CANCELLED');
  });

  it('a run a dying node left RUNNING, its operations half dispatched, is finished by another node after the lease: each device gets its install once', async () => {
    const { uuid } = await newRelease('Orphan');
    await publish(uuid);
    // Later than every clock move of the tests above.
    const at = Date.now() + 7 * 86_400_000;
    const s = await store('POST', `/subscription/${uuid}/devices/install?timestamp=${at}`, [phones[0]!.udid, phones[1]!.udid]);
    expect(s.status).toBe(202);
    const id = String(s.body['id']);
    const orgId = h.adminCreds.orgId;

    // Node A claims the run as its sweep does, issues the first device's operation, and dies.
    const subscriptions = await h.hub.store.collection<SubscriptionRecord>(subscriptionSpec);
    const activityId = `ACTIVITY_${newCommandId()}`;
    expect(await subscriptions.update(id, { state: 'RUNNING', claimedAt: at + 1, activityId }, { state: 'SCHEDULED' })).toBeDefined();
    const release = await h.hub.apps.publisher.release(orgId, uuid);
    const artifacts = h.hub.apps.publisher.artifacts;
    const op = appOperation('install', release, {
      artifactUrl: publicUrl + artifacts.pathFor('artifact', uuid, id),
      manifestUrl: publicUrl + artifacts.pathFor('manifest.plist', uuid, id),
    });
    const first = (await h.hub.deviceManagement.devices.byIdentifier('ios', phones[0]!.udid))!;
    await h.hub.commands.issue({
      target: { orgId, assetId: first.id, productKey: 'ios', deviceKey: first.deviceIdentifier },
      deviceType: 'ios',
      activityId,
      kind: 'operation',
      name: op.code,
      params: op.payload,
      pendingTtlSeconds: 3600,
      timeoutMs: 60_000,
      by: h.adminCreds.accessKey,
    });

    const nodeB = (now: number) =>
      openAppManagement(h.hub.store, h.hub.deviceManagement, h.hub.commands, {
        dataDir: h.dataDir,
        maxArtifactBytes: 4096,
        publicBaseUrl: () => publicUrl,
        log: pino({ level: 'silent' }),
        clock: () => now,
      });
    // Within the lease node A might still be working: another node leaves the run alone.
    await (await nodeB(at + runningLeaseMs)).sweep();
    expect((await store('GET', `/subscriptions/${id}`)).body).toMatchObject({ state: 'RUNNING' });

    const installed = deviceApps(2, 'INSTALLED');
    const late = await nodeB(at + 1 + runningLeaseMs + 1);
    late.on('deviceApp', (d) => h.hub.apps.emit('deviceApp', d));
    await Promise.all([late.sweep(), late.sweep()]);
    expect((await store('GET', `/subscriptions/${id}`)).body).toMatchObject({ state: 'DONE', activityId });
    const done = await installed;
    expect(done.map((d) => d.deviceIdentifier).sort()).toEqual([phones[0]!.udid, phones[1]!.udid].sort());
    const activity = await dm('GET', `/activities/${activityId}`);
    expect((activity.body['activityStatus'] as Json[]).map((x) => (x['deviceIdentifier'] as Json)['id']).sort()).toEqual(
      [phones[0]!.udid, phones[1]!.udid].sort(),
    );
    for (const p of phones.slice(0, 2)) {
      const installs = (await operationsOf(p.udid)).filter(
        (o) => o['code'] === 'INSTALL_APPLICATION' && JSON.stringify(o['payload']).includes(uuid),
      );
      expect(installs).toHaveLength(1);
    }
  });
});
