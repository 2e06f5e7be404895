import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { ApiClient } from '@edgehub/hub';
import { AndroidAgent, FcmSimulator, createServiceAccount } from '@edgehub/simulators/android';
import { ApnsSimulator, IphoneAgent, createCa, issue, issuePushCertificate } from '@edgehub/simulators/apple';
import { WindowsDevice, WnsSimulator } from '@edgehub/simulators/windows';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import { connectDevice, newTenant, provision, startHub, type RunningHub, type TestDevice, clientCredentialsToken } from '../src/index.js';

type Json = Record<string, unknown>;
const topic = 'com.apple.mgmt.External.5b1c7e3a-2d4f-4e6a-8b9c-1d2e3f4a5b6c';
const enrollmentSecret = 'enroll-all-types';
const wnsClient = { clientId: 'ms-app://s-1-15-2-42', clientSecret: 'wns-secret-all-types' };

/**
 * Issue 11's acceptance across platforms: one hub with an iPhone (APNs), an Android agent (FCM), a
 * Windows device (WNS, SyncML) and an MQTT device; an operation to each completes, and one management
 * REST call lists all four side by side (docs/DEVICE-MANAGEMENT.md, "Management REST").
 */
describe('every device type on one command core: one listing of their operations', () => {
  let h: RunningHub;
  let dir: string;
  let apns: ApnsSimulator;
  let fcm: FcmSimulator;
  let wns: WnsSimulator;
  let iphone: IphoneAgent;
  let android: AndroidAgent;
  let pc: WindowsDevice;
  let meter: TestDevice;
  let meterAssetId: string;
  let bearer: string;

  const dm = async (method: string, path: string, body?: unknown, token = bearer) => {
    const r = await fetch(`${h.baseUrl}/api/device-mgt/v1.0${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mdm-all-types-'));
    // APNs: the simulator's server CA, a push certificate with our topic, an identity CA for the phone.
    const [apple, serverCa, deviceCa] = await Promise.all([
      createCa('Apple (sim)'),
      createCa('APNs server CA'),
      createCa('Device identity CA'),
    ]);
    const server = await issue(serverCa, { subject: { CN: 'localhost' }, ips: ['127.0.0.1'], server: true });
    const push = await issuePushCertificate(apple, topic);
    apns = new ApnsSimulator({ certPem: server.certPem, keyPem: server.keyPem, clientCaPem: apple.certPem });
    fcm = new FcmSimulator();
    wns = new WnsSimulator(wnsClient);
    await Promise.all([apns.start(), fcm.start(), wns.start()]);
    const account = createServiceAccount('edgehub-all-types', fcm.tokenUrl);
    fcm.addServiceAccount(account);
    const files = {
      apnsCa: join(dir, 'apns-ca.pem'),
      identityCa: join(dir, 'identity-ca.pem'),
      pushCert: join(dir, 'push.pem'),
      pushKey: join(dir, 'push.key'),
      fcmAccount: join(dir, 'service-account.json'),
    };
    await writeFile(files.apnsCa, serverCa.certPem);
    await writeFile(files.identityCa, deviceCa.certPem);
    await writeFile(files.pushCert, push.certPem);
    await writeFile(files.pushKey, push.keyPem, { mode: 0o600 });
    await writeFile(files.fcmAccount, account.json, { mode: 0o600 });
    Object.assign(process.env, {
      HUB_IOS_APNS_URL: apns.url,
      HUB_IOS_APNS_CA_FILE: files.apnsCa,
      HUB_IOS_IDENTITY_CA_FILE: files.identityCa,
      HUB_IOS_PUSH_CERT_FILE: files.pushCert,
      HUB_IOS_PUSH_KEY_FILE: files.pushKey,
      HUB_FCM_SERVICE_ACCOUNT_FILE: files.fcmAccount,
      HUB_FCM_URL: fcm.url,
      HUB_FCM_TOKEN_URL: fcm.tokenUrl,
      HUB_WNS_TOKEN_URL: wns.tokenUrl,
      HUB_WNS_CLIENT_ID: wnsClient.clientId,
      HUB_WNS_CLIENT_SECRET: wnsClient.clientSecret,
      HUB_WNS_CHANNEL_ORIGINS: wns.origin,
      HUB_WINDOWS_ENROLLMENT_SECRET: enrollmentSecret,
    });
    h = await startHub();
    const orgId = h.adminCreds.orgId;
    process.env['HUB_IOS_ORG_ID'] = orgId;
    process.env['HUB_WINDOWS_ORG_ID'] = orgId;
    bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);

    iphone = new IphoneAgent({
      serverUrl: `${h.baseUrl}/mdm`,
      topic,
      identity: await issue(deviceCa, { subject: { CN: 'iPhone' } }),
      apns,
    });
    android = new AndroidAgent({ baseUrl: h.baseUrl, oauthToken: bearer, fcm });
    pc = new WindowsDevice({ baseUrl: h.baseUrl, upn: 'ana@example.org', enrollmentSecret, wns });
    await Promise.all([iphone.enroll(), android.enroll(), pc.enroll().then(() => pc.poll())]);
    await pc.idle();
    const client = new ApiClient({ baseUrl: h.baseUrl, accessKey: h.adminCreds.accessKey, accessSecret: h.adminCreds.accessSecret });
    const p = await provision(client, orgId, { productType: 'Device', deviceKeys: ['meter-all-types'] });
    meterAssetId = p.devices[0]!.assetId;
    meter = await connectDevice(h.mqttUrl, p.devices[0]!);
  });
  afterAll(async () => {
    await meter?.end();
    await h?.close();
    await Promise.all([apns?.stop(), fcm?.stop(), wns?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  /** Resolves when every given operation id has reached COMPLETED (events, no polling). */
  function allCompleted(ids: string[]): Promise<void> {
    const open = new Set(ids);
    return new Promise((resolve) => {
      const check = (c: CommandRecord) => {
        if (c.operationStatus === 'COMPLETED') open.delete(c.commandId);
        if (open.size === 0) {
          h.hub.commands.off('status', check);
          resolve();
        }
      };
      h.hub.commands.on('status', check);
      void Promise.all(ids.map((id) => h.hub.commands.get(h.adminCreds.orgId, id))).then((now) => now.forEach(check));
    });
  }
  const operationIdOf = (activity: Json) => String((activity['activityStatus'] as Json[])[0]!['operationId']);

  it('locks an iPhone, an Android phone and a Windows PC and reboots an MQTT meter; GET /operations lists all four, COMPLETED', async () => {
    const since = Date.now();
    const add = async (type: string, id: string, operation: Json) => {
      const r = await dm('POST', `/devices/${type}/operations`, { deviceIdentifiers: [id], operation, pendingTtlSeconds: 600 });
      expect(r.status).toBe(201);
      return operationIdOf(r.body);
    };
    // The meter answers its service invocation like an EnOS device.
    const meterAnswered = meter
      .next((t) => topics.parse(t)?.kind === 'serviceInvoke')
      .then((m) => meter.client.publishAsync(topics.reply(m.topic), JSON.stringify({ id: m.json.id, code: 200, data: {} }), { qos: 0 }));
    const ids = {
      ios: await add('ios', iphone.udid, { code: 'DEVICE_LOCK', payload: { Message: 'Lost' } }),
      android: await add('android', android.deviceIdentifier, { code: 'DEVICE_LOCK', type: 'PROFILE', payload: { message: 'Lost' } }),
      windows: await add('windows', pc.deviceId, { code: 'DEVICE_LOCK' }),
      'enos-mqtt': await add('enos-mqtt', meterAssetId, { code: 'reboot', payload: { delay: 1 } }),
    };
    await meterAnswered;
    await allCompleted(Object.values(ids));

    const listed = await dm('GET', `/operations?since=${since}`);
    expect(listed.status).toBe(200);
    const ops = listed.body['operations'] as Json[];
    const byId = new Map(ops.map((o) => [String(o['id']), o]));
    for (const [type, id] of Object.entries(ids)) {
      expect(byId.get(id), type).toMatchObject({ status: 'COMPLETED', deviceIdentifier: { type } });
    }
    expect(listed.body['count']).toBe(4);
    // Newest first.
    expect(ops.map((o) => String(o['id']))).toEqual([ids['enos-mqtt'], ids.windows, ids.android, ids.ios]);

    // Filters: one type (the MQTT devices' commands included), a status, and paging.
    const mqttOnly = await dm('GET', `/operations?type=enos-mqtt&since=${since}`);
    expect((mqttOnly.body['operations'] as Json[]).map((o) => o['id'])).toEqual([ids['enos-mqtt']]);
    const windowsOnly = await dm('GET', `/operations?type=windows&operationStatus=COMPLETED&since=${since}`);
    expect((windowsOnly.body['operations'] as Json[]).map((o) => o['id'])).toEqual([ids.windows]);
    const page = await dm('GET', `/operations?since=${since}&offset=1&limit=2`);
    expect((page.body['operations'] as Json[]).map((o) => o['id'])).toEqual([ids.windows, ids.android]);
    expect(page.body['count']).toBe(4);
  });

  it('refuses bad queries with 400 or 404, and needs a token with the operations scope', async () => {
    expect((await dm('GET', '/operations?type=blackberry')).status).toBe(404);
    expect((await dm('GET', '/operations?operationStatus=DONE')).status).toBe(400);
    expect((await dm('GET', '/operations?since=yesterday')).status).toBe(400);
    expect((await dm('GET', '/operations?color=red')).status).toBe(400);
    expect((await dm('GET', '/operations', undefined, 'not-a-token')).status).toBe(401);
  });

  it("another organization's token sees none of these operations", async () => {
    const other = await newTenant(h, 'all-types-other');
    const otherBearer = await clientCredentialsToken(h.baseUrl, other);
    expect((await dm('GET', '/operations', undefined, otherBearer)).body).toEqual({ operations: [], count: 0 });
  });
});
