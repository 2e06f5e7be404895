import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '@edgehub/shared';
import { i18n, newTenant, startHub, type RunningHub } from '../src/index.js';

type Body = { code: number; msg: string; data: unknown };

/**
 * Bad input on every layer of the REST entry point gets the documented code and HTTP status, and
 * the server keeps answering correctly afterwards.
 */
describe('REST bad input', () => {
  let h: RunningHub;
  let orgId: string;
  let accessKey: string;
  let accessSecret: string;
  let token: string;
  let pk: string;

  /** Sends a request signed over exactly `raw` (or over `signAs` when given, to forge a mismatch). */
  async function send(
    method: string,
    path: string,
    query: Record<string, string>,
    raw?: string,
    opts: { signAs?: string; headers?: Record<string, string>; secret?: string; token?: string } = {},
  ) {
    const url = new URL(path, h.baseUrl);
    for (const [k, v] of Object.entries(query)) url.searchParams.append(k, v);
    const headers: Record<string, string> = {
      ...signedHeaders(opts.token ?? token, url, opts.signAs ?? raw, opts.secret ?? accessSecret),
      ...(raw !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    };
    const init: RequestInit = { method, headers };
    if (raw !== undefined) init.body = raw;
    const res = await fetch(url, init);
    return { status: res.status, body: (await res.json()) as Body };
  }
  const createDevice = (raw: string) => send('POST', '/connect-service/v2.1/devices', { action: 'create', orgId }, raw);

  beforeAll(async () => {
    h = await startHub({ bodyLimitBytes: 64 * 1024 });
    const t = await newTenant(h, 'bad-input');
    ({ orgId, accessKey, accessSecret } = t);
    token = await t.client.accessToken();
    pk = (
      await t.client.connect<string>(
        orgId,
        'POST',
        'products',
        'create',
        {},
        { productName: i18n('p'), productType: 'Device', dataFormat: 'Json', biDirectionalAuth: false },
      )
    ).data;
  });
  afterAll(async () => {
    await h.close();
  });

  it('malformed JSON → 400 / 99400', async () => {
    const r = await createDevice('{"productKey": "abc",');
    expect(r).toMatchObject({ status: 400, body: { code: 99400 } });
    expect(r.body.msg).toMatch(/JSON/);
  });

  it('missing and mistyped fields → 400 / 99400 naming the field', async () => {
    const missing = await createDevice(JSON.stringify({ productKey: pk, timezone: '+08:00' }));
    expect(missing).toMatchObject({ status: 400, body: { code: 99400 } });
    expect(missing.body.msg).toContain('deviceName');
    const mistyped = await createDevice(JSON.stringify({ productKey: pk, timezone: '+08:00', deviceName: 'not-an-i18n-object' }));
    expect(mistyped).toMatchObject({ status: 400, body: { code: 99400 } });
    expect(mistyped.body.msg).toContain('deviceName');
    const unknownField = await createDevice(JSON.stringify({ productKey: pk, timezone: '+08:00', deviceName: i18n('x'), colour: 'red' }));
    expect(unknownField).toMatchObject({ status: 400, body: { code: 99400 } });
    const badTimezone = await createDevice(JSON.stringify({ productKey: pk, timezone: '8 o clock', deviceName: i18n('x') }));
    expect(badTimezone.body.code).toBe(99400);
    const notAnObject = await createDevice('[1,2,3]');
    expect(notAnObject.body.code).toBe(99400);
    const stringBool = await send(
      'POST',
      '/connect-service/v2.1/products',
      { action: 'create', orgId },
      JSON.stringify({ productName: i18n('p'), productType: 'Device', dataFormat: 'Json', biDirectionalAuth: 'true' }),
    );
    expect(stringBool.body.code).toBe(99400);
    const badProductType = await send(
      'POST',
      '/connect-service/v2.1/products',
      { action: 'create', orgId },
      JSON.stringify({ productName: i18n('p'), productType: 'Toaster', dataFormat: 'Json', biDirectionalAuth: false }),
    );
    expect(badProductType.body.code).toBe(99400);
  });

  it('oversize bodies → 413 / 99413', async () => {
    const huge = JSON.stringify({ productKey: pk, timezone: '+08:00', deviceName: i18n('x'), deviceDesc: 'x'.repeat(100 * 1024) });
    const r = await createDevice(huge);
    expect(r).toMatchObject({ status: 413, body: { code: 99413 } });
  });

  it('wrong signatures → 401 / 99401', async () => {
    const raw = JSON.stringify({ productKey: pk, timezone: '+08:00', deviceName: i18n('forged') });
    const tampered = await send('POST', '/connect-service/v2.1/devices', { action: 'create', orgId }, raw, {
      signAs: raw.replace('forged', 'honest'),
    });
    expect(tampered).toMatchObject({ status: 401, body: { code: 99401 } });
    const wrongSecret = await send('POST', '/connect-service/v2.1/devices', { action: 'create', orgId }, raw, { secret: 'not-the-secret' });
    expect(wrongSecret).toMatchObject({ status: 401, body: { code: 99401 } });
    // A signature over other query parameters does not carry over to this one.
    const url = new URL('/connect-service/v2.1/devices', h.baseUrl);
    url.searchParams.set('action', 'create');
    url.searchParams.set('orgId', 'o-other');
    const sig = signedHeaders(token, url, raw, accessSecret);
    const moved = await fetch(`${h.baseUrl}/connect-service/v2.1/devices?action=create&orgId=${orgId}`, {
      method: 'POST',
      headers: { ...sig, 'content-type': 'application/json' },
      body: raw,
    });
    expect(moved.status).toBe(401);
    const noHeaders = await fetch(`${h.baseUrl}/connect-service/v2.1/devices?action=create&orgId=${orgId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw,
    });
    expect(noHeaders.status).toBe(401);
    expect(((await noHeaders.json()) as Body).code).toBe(99401);
    // nothing was created by any of them
    const search = await send(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'search', orgId },
      JSON.stringify({ expression: `deviceName = 'forged' or deviceName = 'honest'` }),
    );
    expect(search.body.code).toBe(0);
    expect(search.body.data).toEqual([]);
  });

  it('expired and unknown tokens → 401 / 1203', async () => {
    const unknown = await send('POST', '/connect-service/v2.1/products', { action: 'search', orgId }, '{}', { token: 'f'.repeat(64) });
    expect(unknown).toMatchObject({ status: 401, body: { code: 1203 } });
    h.advanceClock(7201 * 1000);
    try {
      const expired = await send('POST', '/connect-service/v2.1/products', { action: 'search', orgId }, '{}');
      expect(expired).toMatchObject({ status: 401, body: { code: 1203 } });
    } finally {
      h.advanceClock(-7201 * 1000);
    }
  });

  it('unknown or missing actions → 400 / 99400; unknown paths → 404 / 99404', async () => {
    const unknownAction = await send('POST', '/connect-service/v2.1/devices', { action: 'explode', orgId }, '{}');
    expect(unknownAction).toMatchObject({ status: 400, body: { code: 99400 } });
    expect(unknownAction.body.msg).toMatch(/action/);
    const missingAction = await send('POST', '/connect-service/v2.1/devices', { orgId }, '{}');
    expect(missingAction).toMatchObject({ status: 400, body: { code: 99400 } });
    expect(missingAction.body.msg).toMatch(/action is missing/);
    const wrongMethod = await send('GET', '/connect-service/v2.1/devices', { action: 'create', orgId });
    expect(wrongMethod.body.code).toBe(99400);
    const nowhere = await send('GET', '/no/such/thing', {});
    expect(nowhere).toMatchObject({ status: 404, body: { code: 99404 } });
  });

  it('missing orgId and missing device identifiers → 99400', async () => {
    const noOrg = await send('POST', '/connect-service/v2.1/products', { action: 'search' }, '{}');
    expect(noOrg).toMatchObject({ status: 400, body: { code: 99400 } });
    const noRef = await send('GET', '/connect-service/v2.1/devices', { action: 'get', orgId });
    expect(noRef.body.code).toBe(99400);
    expect(noRef.body.msg).toMatch(/assetId/);
  });

  it('token service: empty params → 1202, bad types → 1004, stale timestamps → 1004, non-JSON → 1004', async () => {
    const post = async (raw: string) => {
      const res = await fetch(`${h.baseUrl}/apim-token-service/v2.0/token/get`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: raw,
      });
      return { status: res.status, body: (await res.json()) as { status: number; msg: string; business: string } };
    };
    expect((await post(JSON.stringify({ appKey: accessKey }))).body.status).toBe(1202);
    expect((await post(JSON.stringify({ appKey: accessKey, encryption: 5, timestamp: Date.now() }))).body.status).toBe(1004);
    expect((await post(JSON.stringify({ appKey: accessKey, encryption: 'ab', timestamp: Date.now() - 3_600_000 }))).body.status).toBe(1004);
    const junk = await post('{not json');
    expect(junk.body).toMatchObject({ status: 1004, business: 'apim-token-service' });
  });

  it('keeps answering correctly after several hundred malformed requests', async () => {
    const garbage: (() => Promise<{ status: number }>)[] = [];
    const bodies = [
      '{',
      '}',
      'null',
      '"str"',
      '[]',
      '{"deviceList":',
      '\u0000\u0001',
      '{"a":'.repeat(500),
      '{"productKey":{"$gt":""}}',
      JSON.stringify({ __proto__: { admin: true }, productKey: pk }),
    ];
    for (let i = 0; i < 400; i++) {
      const raw = bodies[i % bodies.length]!;
      switch (i % 5) {
        case 0:
          garbage.push(() => createDevice(raw));
          break;
        case 1:
          garbage.push(() => send('POST', '/connect-service/v2.1/devices', { action: 'batchCreate', orgId }, raw, { signAs: raw + 'x' }));
          break;
        case 2:
          garbage.push(() =>
            send(
              'POST',
              '/connect-service/v2.1/devices',
              { action: 'search', orgId },
              JSON.stringify({ expression: `status = 'online' and ((((${'('.repeat(i % 40)}` }),
            ),
          );
          break;
        case 3:
          garbage.push(async () => {
            const res = await fetch(`${h.baseUrl}/connect-service/v2.1/devices?action=create&orgId=${orgId}`, {
              method: 'POST',
              headers: { 'content-type': 'text/plain', 'apim-accesstoken': 'x', 'apim-timestamp': 'y', 'apim-signature': 'z' },
              body: raw,
            });
            await res.arrayBuffer();
            return { status: res.status };
          });
          break;
        default:
          garbage.push(async () => {
            const res = await fetch(`${h.baseUrl}/apim-token-service/v2.0/token/get`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: raw,
            });
            await res.arrayBuffer();
            return { status: res.status };
          });
      }
    }
    // 8 at a time: enough to interleave, few enough to stay under the token rate limit window's burst
    const statuses: number[] = [];
    for (let i = 0; i < garbage.length; i += 8)
      statuses.push(...(await Promise.all(garbage.slice(i, i + 8).map((g) => g()))).map((r) => r.status));
    expect(statuses.every((s) => s >= 400 && s < 500)).toBe(true);
    expect(statuses.filter((s) => s === 500)).toEqual([]);

    const good = await createDevice(
      JSON.stringify({ productKey: pk, deviceKey: 'survivor', timezone: '+08:00', deviceName: i18n('survivor') }),
    );
    expect(good).toMatchObject({ status: 200, body: { code: 0 } });
    const got = await send('GET', '/connect-service/v2.1/devices', { action: 'get', orgId, productKey: pk, deviceKey: 'survivor' });
    expect(got.body.code).toBe(0);
    const health = await fetch(`${h.baseUrl}/health`);
    expect(health.status).toBe(200);
  });
});
