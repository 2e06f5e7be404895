import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenEncryption } from '@edgehub/shared';
import { ApiClient } from '@edgehub/hub';
import { i18n, newTenant, startHub, type RunningHub } from '../src/index.js';

/**
 * Seed step 4 (design README): an edge calls the hub REST with its service account; the hub
 * checks the org exists, the application is registered there and the productKey belongs to it.
 */
describe('edge onboarding over the signed REST API', () => {
  let h: RunningHub;
  beforeAll(async () => {
    h = await startHub();
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses a token for a wrong service-account secret', async () => {
    const a = await newTenant(h, 'acme');
    const wrong = new ApiClient({ baseUrl: h.baseUrl, accessKey: a.accessKey, accessSecret: a.accessSecret + 'x' });
    await expect(wrong.accessToken()).rejects.toMatchObject({ code: 1003, status: 401 });
    const unknown = new ApiClient({ baseUrl: h.baseUrl, accessKey: 'no-such-key', accessSecret: 'whatever' });
    await expect(unknown.accessToken()).rejects.toMatchObject({ code: 1002 });
  });

  it('answers 99403 when the application is not registered in the org, and lets it in once registered', async () => {
    const a = await newTenant(h, 'tenant-a');
    const b = await newTenant(h, 'tenant-b');
    const denied = await a.client.connect(b.orgId, 'POST', 'products', 'search', {}, {});
    expect(denied).toMatchObject({ status: 403, code: 99403 });
    expect(denied.msg).toContain(b.orgId);

    await h.admin.ok('POST', '/admin/v1/registrations', {}, { orgId: b.orgId, appId: a.appId });
    const allowed = await a.client.connect(b.orgId, 'POST', 'products', 'search', {}, {});
    expect(allowed.code).toBe(0);

    await h.admin.ok('DELETE', '/admin/v1/registrations', { orgId: b.orgId, appId: a.appId });
    expect((await a.client.connect(b.orgId, 'POST', 'products', 'search', {}, {})).code).toBe(99403);
  });

  it('refuses requests signed with the old secret as soon as the secret is rotated, with a token already in use', async () => {
    const a = await newTenant(h, 'tenant-rotate');
    // Warm: the token, the application and its registration have all been checked before.
    for (let i = 0; i < 3; i++) expect((await a.client.connect(a.orgId, 'POST', 'products', 'search', {}, {})).code).toBe(0);
    const rotated = await h.admin.ok<{ accessSecret: string }>('POST', `/admin/v1/applications/${a.appId}/rotate-secret`);
    const stale = await a.client.connect(a.orgId, 'POST', 'products', 'search', {}, {});
    expect(stale).toMatchObject({ status: 401, code: 99401 });
    const fresh = new ApiClient({ baseUrl: h.baseUrl, accessKey: a.accessKey, accessSecret: rotated.data.accessSecret });
    expect((await fresh.connect(a.orgId, 'POST', 'products', 'search', {}, {})).code).toBe(0);
  });

  it('refuses a token held in memory as soon as it expires (1203)', async () => {
    // A hub of its own: its clock moves past the token lifetime, which would expire the other tests' tokens.
    const own = await startHub();
    try {
      const a = await newTenant(own, 'tenant-expiry');
      // Warm: the token and its application are held in memory and checked without a store read.
      for (let i = 0; i < 3; i++) expect((await a.client.connect(a.orgId, 'POST', 'products', 'search', {}, {})).code).toBe(0);
      own.advanceClock(7200 * 1000 + 1000);
      expect(await a.client.connect(a.orgId, 'POST', 'products', 'search', {}, {})).toMatchObject({ status: 401, code: 1203 });
    } finally {
      await own.close();
    }
  });

  it('answers 99400 for an orgId that does not exist', async () => {
    const a = await newTenant(h, 'tenant-c');
    const r = await a.client.connect('o-no-such-org', 'POST', 'products', 'search', {}, {});
    expect(r).toMatchObject({ status: 400, code: 99400 });
    expect(r.msg).toMatch(/orgId/);
  });

  it('refuses a productKey of another org as if it did not exist', async () => {
    const a = await newTenant(h, 'tenant-d');
    const b = await newTenant(h, 'tenant-e');
    const pB = await b.client.connect<string>(
      b.orgId,
      'POST',
      'products',
      'create',
      {},
      { productName: i18n('B inverter'), productType: 'Device', dataFormat: 'Json', biDirectionalAuth: false },
    );
    expect(pB.code).toBe(0);
    const r = await a.client.connect(
      a.orgId,
      'POST',
      'devices',
      'create',
      {},
      { productKey: pB.data, timezone: '+08:00', deviceName: i18n('x') },
    );
    expect(r).toMatchObject({ status: 404, code: 11611 });
    const get = await a.client.connect(a.orgId, 'GET', 'products', 'get', { productKey: pB.data });
    expect(get.code).toBe(11611);
    // and nothing was created in B's product
    const search = await b.client.connect<unknown[]>(b.orgId, 'POST', 'devices', 'search', {}, { expression: `productKey = '${pB.data}'` });
    expect(search.pagination?.totalSize).toBe(0);
  });

  it('creates a device when everything is valid and returns its triple', async () => {
    const a = await newTenant(h, 'tenant-f');
    const p = await a.client.connect<string>(
      a.orgId,
      'POST',
      'products',
      'create',
      {},
      { productName: i18n('Edge gateway'), productType: 'Gateway', dataFormat: 'Json', biDirectionalAuth: false },
    );
    expect(p.code).toBe(0);
    expect(p.data).toMatch(/^[A-Za-z0-9]{8}$/);
    const d = await a.client.connect<{ assetId: string; productKey: string; deviceKey: string; deviceSecret: string }>(
      a.orgId,
      'POST',
      'devices',
      'create',
      {},
      {
        productKey: p.data,
        deviceKey: 'edge-001',
        timezone: '+08:00',
        deviceName: i18n('Edge 001'),
      },
    );
    expect(d.code).toBe(0);
    expect(d.data).toMatchObject({ productKey: p.data, deviceKey: 'edge-001' });
    expect(d.data.deviceSecret).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(d.data.assetId).toMatch(/^[A-Za-z0-9]{8}$/);
    // The device is inactive until its first login, and readable by triple and by assetId.
    const byTriple = await a.client.connect<{ status: string; deviceSecret: string; assetId: string }>(a.orgId, 'GET', 'devices', 'get', {
      productKey: p.data,
      deviceKey: 'edge-001',
    });
    expect(byTriple.data).toMatchObject({ status: 'inactive', deviceSecret: d.data.deviceSecret, assetId: d.data.assetId });
    const byAsset = await a.client.connect<{ deviceKey: string }>(a.orgId, 'GET', 'devices', 'get', { assetId: d.data.assetId });
    expect(byAsset.data.deviceKey).toBe('edge-001');
    // The same deviceKey again is 11702.
    const again = await a.client.connect(
      a.orgId,
      'POST',
      'devices',
      'create',
      {},
      { productKey: p.data, deviceKey: 'edge-001', timezone: '+08:00', deviceName: i18n('dup') },
    );
    expect(again).toMatchObject({ status: 409, code: 11702 });
  });

  it('refuses a replayed token request (1001) and hands out the same token while it lives', async () => {
    const a = await newTenant(h, 'tenant-g');
    const timestamp = Date.now();
    const body = JSON.stringify({ appKey: a.accessKey, encryption: tokenEncryption(a.accessKey, timestamp, a.accessSecret), timestamp });
    const post = () =>
      fetch(`${h.baseUrl}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const first = (await (await post()).json()) as { status: number; data: { accessToken: string; expire: number } };
    expect(first.status).toBe(0);
    expect(first.data.expire).toBe(7200);
    const replay = (await (await post()).json()) as { status: number };
    expect(replay.status).toBe(1001);
    const t2 = Date.now() + 1;
    const second = (await (
      await fetch(`${h.baseUrl}/apim-token-service/v2.0/token/get`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ appKey: a.accessKey, encryption: tokenEncryption(a.accessKey, t2, a.accessSecret), timestamp: t2 }),
      })
    ).json()) as { status: number; data: { accessToken: string } };
    expect(second.data.accessToken).toBe(first.data.accessToken);
  });

  it('refreshes a token: the new one works, the old one stops working', async () => {
    const a = await newTenant(h, 'tenant-h');
    const old = await a.client.accessToken();
    const timestamp = Date.now();
    const res = await fetch(`${h.baseUrl}/apim-token-service/v2.0/token/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        appKey: a.accessKey,
        encryption: tokenEncryption(a.accessKey, timestamp, a.accessSecret),
        timestamp,
        accessToken: old,
      }),
    });
    const body = (await res.json()) as { status: number; data: { accessToken: string; expire: number } };
    expect(body.status).toBe(0);
    expect(body.data.accessToken).not.toBe(old);
    // The client still holds the old token: its calls now fail with 1203.
    expect((await a.client.connect(a.orgId, 'POST', 'products', 'search', {}, {})).code).toBe(1203);
    const fresh = new ApiClient({ baseUrl: h.baseUrl, accessKey: a.accessKey, accessSecret: a.accessSecret });
    expect((await fresh.connect(a.orgId, 'POST', 'products', 'search', {}, {})).code).toBe(0);
  });

  it('keeps the admin API to administrator applications', async () => {
    const a = await newTenant(h, 'tenant-i');
    const r = await a.client.call('POST', '/admin/v1/organizations', {}, { name: 'sneaky' });
    expect(r).toMatchObject({ status: 403, code: 99403 });
    const list = await h.admin.ok<{ accessSecret?: string }[]>('GET', '/admin/v1/applications', { orgId: a.orgId });
    expect(list.data.length).toBe(1);
    expect(list.data[0]).not.toHaveProperty('accessSecret');
  });
});
