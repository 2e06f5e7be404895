import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamTopics } from '@edgehub/shared';
import { connectApp, newTenant, rawConnect, startHub, type RunningHub } from '../src/index.js';

type Tenant = Awaited<ReturnType<typeof newTenant>>;

/**
 * The application stream login (docs/PROTOCOL.md §3.3; docs/SECURITY.md, "Replay"): a signature is
 * accepted once, at the stream's door or the token service's, and an application's connection is
 * its own whatever ClientId another application sends.
 */
describe('application stream login', () => {
  let h: RunningHub;
  let app: Tenant;
  let other: Tenant;

  // Every timestamp this suite signs: each test's must be fresh, or the shared ledger would refuse a
  // login the test expects to pass because an earlier step happened to sign the same millisecond.
  const signed = new Set<string>();
  /** A timestamp `offsetMs` from now (moved back to the nearest millisecond not signed yet). */
  const unusedTimestamp = (offsetMs: number) => {
    let ts = Date.now() + offsetMs;
    while (signed.has(String(ts))) ts--;
    return String(ts);
  };
  const encryption = (t: Tenant, ts: string) =>
    createHash('sha256')
      .update(t.accessKey + ts + t.accessSecret, 'utf8')
      .digest('hex');
  const login = (t: Tenant, ts: string, cid = 'stream') => {
    signed.add(ts);
    return rawConnect(h.mqttPort, {
      clientId: `${cid}|authtype=app,timestamp=${ts}|`,
      clean: true,
      username: t.accessKey,
      password: Buffer.from(encryption(t, ts)),
    });
  };
  const tokenGet = async (t: Tenant, ts: string) => {
    signed.add(ts);
    const res = await fetch(`${h.baseUrl}/apim-token-service/v2.0/token/get`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey: t.accessKey, encryption: encryption(t, ts), timestamp: Number(ts) }),
    });
    return ((await res.json()) as { status: number }).status;
  };

  beforeAll(async () => {
    h = await startHub();
    app = await newTenant(h, 'replay');
    other = await newTenant(h, 'replay-other');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a replayed login (same timestamp and password) with CONNACK 5, also under another ClientId', async () => {
    const ts = unusedTimestamp(0);
    expect(await login(app, ts)).toBe(0);
    expect(await login(app, ts)).toBe(5);
    expect(await login(app, ts, 'another-cid')).toBe(5);
    expect(await login(app, String(Number(ts) + 1))).toBe(0);
  });

  it('shares the ledger with the token service: a signature spent at one door is refused at the other', async () => {
    const first = unusedTimestamp(-10);
    expect(await login(app, first)).toBe(0);
    expect(await tokenGet(app, first)).toBe(1001);
    const second = unusedTimestamp(-20);
    expect(await tokenGet(app, second)).toBe(0);
    expect(await login(app, second)).toBe(5);
  });

  it("another application's login with the same ClientId text does not close the first one", async () => {
    // The very same ClientId text: same cid, same timestamp.
    const ts = unusedTimestamp(-30);
    signed.add(ts);
    const a = await connectApp(h.mqttUrl, app.accessKey, app.accessSecret, 'shared', ts);
    let closed = false;
    a.on('close', () => (closed = true));
    const b = await connectApp(h.mqttUrl, other.accessKey, other.accessSecret, 'shared', ts);
    // A round trip on the first connection after the second one's CONNACK.
    const granted = await a.subscribeAsync(streamTopics.orgFilter(app.orgId), { qos: 0 });
    expect(granted[0]!.qos).toBe(0);
    expect(closed).toBe(false);
    await Promise.all([a.endAsync(true), b.endAsync(true)]);
  });
});
