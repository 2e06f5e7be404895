import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FcmSimulator, createServiceAccount, type SimServiceAccount } from '@edgehub/simulators/android';
import { FcmAccessTokens, TokenRefusedError, signAssertion } from '../src/push/fcm/access-token.js';
import { FcmPushProvider } from '../src/push/fcm/fcm-provider.js';
import { parseServiceAccount } from '../src/push/fcm/service-account.js';
import type { PushTarget } from '../src/push/port.js';

/** The FCM HTTP v1 provider against the FCM fake (docs/DEVICE-MANAGEMENT.md, "Android: FCM"): real JWTs, real HTTP. */
describe('FCM provider', () => {
  let now = Date.UTC(2026, 11, 3, 10, 0, 0);
  const clock = () => now;
  const fcm = new FcmSimulator(clock);
  let account: SimServiceAccount;
  let stranger: SimServiceAccount;
  const target = (token: string): PushTarget => ({ orgId: 'o', deviceType: 'android', deviceId: 'd', token, extra: {} });

  beforeAll(async () => {
    await fcm.start();
    account = createServiceAccount('edgehub-test', fcm.tokenUrl);
    stranger = createServiceAccount('edgehub-test', fcm.tokenUrl);
    fcm.addServiceAccount(account);
  });
  afterAll(() => fcm.stop());

  it('exchanges one signed JWT for an access token, shares it between concurrent callers and caches it until a minute before expiry', async () => {
    const tokens = new FcmAccessTokens(parseServiceAccount(account.json), fcm.tokenUrl, clock);
    const issued = fcm.tokensIssued;
    const [a, b] = await Promise.all([tokens.get(), tokens.get()]);
    expect(a).toBe(b);
    expect(fcm.tokensIssued).toBe(issued + 1);
    now += 58 * 60_000;
    expect(await tokens.get()).toBe(a);
    expect(fcm.tokensIssued).toBe(issued + 1);
    now += 60_000; // 59 minutes of a 60-minute token: within the margin, a new one
    const c = await tokens.get();
    expect(c).not.toBe(a);
    expect(fcm.tokensIssued).toBe(issued + 2);
  });

  it('a key the token endpoint does not know, or a forged signature, is refused (invalid_grant) as an operator problem', async () => {
    const tokens = new FcmAccessTokens(parseServiceAccount(stranger.json), fcm.tokenUrl, clock);
    await expect(tokens.get()).rejects.toBeInstanceOf(TokenRefusedError);
    // Signed by another key under the known account's name.
    const forged = signAssertion({ ...parseServiceAccount(stranger.json), clientEmail: account.clientEmail }, fcm.tokenUrl, now);
    const r = await fetch(fcm.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: forged }).toString(),
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('sends a high-priority data message to the device token', async () => {
    const provider = new FcmPushProvider({ account: parseServiceAccount(account.json), url: fcm.url, clock });
    const got: Record<string, string>[] = [];
    const token = fcm.register((d) => got.push(d));
    expect(await provider.wake(target(token))).toMatchObject({
      kind: 'sent',
      id: expect.stringContaining('projects/edgehub-test/messages/'),
    });
    expect(fcm.received.at(-1)).toMatchObject({ token, data: { type: 'SYNC' }, android: { priority: 'HIGH', collapse_key: 'mdm-sync' } });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(got).toEqual([expect.objectContaining({ type: 'SYNC' })]);
  });

  it('UNREGISTERED (404) and SENDER_ID_MISMATCH make the token invalid; 429/503 are retried not before Retry-After; other 4xx are rejected', async () => {
    const provider = new FcmPushProvider({ account: parseServiceAccount(account.json), url: fcm.url, clock });
    const token = fcm.register(() => undefined);
    fcm.unregister(token);
    expect(await provider.wake(target(token))).toMatchObject({ kind: 'token-invalid', reason: 'UNREGISTERED' });
    const other = fcm.register(() => undefined);
    fcm.inject(other, { status: 403, errorCode: 'SENDER_ID_MISMATCH' });
    expect(await provider.wake(target(other))).toMatchObject({ kind: 'token-invalid', reason: 'SENDER_ID_MISMATCH' });
    fcm.inject(other, { status: 429, errorCode: 'QUOTA_EXCEEDED', retryAfterSeconds: 30 });
    expect(await provider.wake(target(other))).toEqual({ kind: 'retry-after', reason: 'QUOTA_EXCEEDED', afterMs: 30_000 });
    fcm.inject(other, { status: 503, errorCode: 'UNAVAILABLE' });
    expect(await provider.wake(target(other))).toEqual({ kind: 'retry-after', reason: 'UNAVAILABLE' });
    fcm.inject(other, { status: 400, errorCode: 'INVALID_ARGUMENT' });
    expect(await provider.wake(target(other))).toMatchObject({ kind: 'rejected', status: 400 });
    expect(await provider.wake(target(other))).toMatchObject({ kind: 'sent' });
  });

  it('a 401 from the send endpoint (revoked token) fetches a new access token and sends once more', async () => {
    const provider = new FcmPushProvider({ account: parseServiceAccount(account.json), url: fcm.url, clock });
    const token = fcm.register(() => undefined);
    expect(await provider.wake(target(token))).toMatchObject({ kind: 'sent' });
    const exchanges = provider.tokens.exchanges;
    const refused = fcm.unauthenticated;
    fcm.revokeAccessTokens();
    expect(await provider.wake(target(token))).toMatchObject({ kind: 'sent' });
    expect(provider.tokens.exchanges).toBe(exchanges + 1);
    expect(fcm.unauthenticated).toBe(refused + 1);
  });

  it('a service account file without a key or with a non-RSA key is refused without echoing the key', () => {
    expect(() => parseServiceAccount('{"project_id":"p","client_email":"e"}')).toThrow(/private_key are required/);
    const broken = JSON.stringify({ project_id: 'p', client_email: 'e', private_key: 'SECRET-NOT-A-KEY' });
    expect(() => parseServiceAccount(broken)).toThrow(/not a PEM private key/);
    try {
      parseServiceAccount(broken);
    } catch (err) {
      expect(String(err)).not.toContain('SECRET');
    }
  });
});
