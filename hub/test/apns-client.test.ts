import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApnsSimulator, createCa, issue, issuePushCertificate, type Identity, type SimCa } from '@edgehub/simulators/apple';
import { ApnsClient } from '../src/push/apns/apns-client.js';

const topic = 'com.apple.mgmt.External.aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const token = (n: number) => n.toString(16).padStart(64, '0');

describe('APNs HTTP/2 client against the APNs simulator (docs/DEVICE-MANAGEMENT.md, "Apple: push")', () => {
  let sim: ApnsSimulator;
  let serverCa: SimCa;
  let push: Identity;
  let apple: SimCa;
  let client: ApnsClient;

  beforeAll(async () => {
    [apple, serverCa] = await Promise.all([createCa('Apple (sim)'), createCa('APNs server CA')]);
    const server = await issue(serverCa, { subject: { CN: 'localhost' }, ips: ['127.0.0.1'], server: true });
    push = await issuePushCertificate(apple, topic);
    sim = new ApnsSimulator({ certPem: server.certPem, keyPem: server.keyPem, clientCaPem: apple.certPem });
    await sim.start();
    client = new ApnsClient({
      url: sim.url,
      certPem: push.certPem,
      keyPem: push.keyPem,
      caPem: serverCa.certPem,
      maxConcurrentStreams: 8,
      expirationSeconds: 3600,
    });
  });
  afterAll(async () => {
    await client.close();
    await sim.stop();
  });

  it('sends many pushes on one session, at most maxConcurrentStreams at a time, each answered with an apns-id', async () => {
    const delivered: string[] = [];
    for (let i = 1; i <= 200; i++) sim.register(token(i), (magic) => delivered.push(magic));
    const sessionsBefore = sim.sessions;
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.push({ tokenHex: token(i + 1), pushMagic: `magic-${i + 1}`, topic })),
    );
    expect(outcomes.every((o) => o.kind === 'sent' && /^[0-9a-f-]{36}$/.test(o.apnsId))).toBe(true);
    expect(sim.sessions - sessionsBefore).toBe(1);
    expect(sim.maxActiveStreams).toBe(8);
    const last = sim.received.at(-1)!;
    expect(last).toMatchObject({ topic, pushType: 'mdm', priority: '10', status: 200 });
    expect(Number(last.expiration)).toBeGreaterThan(Date.now() / 1000);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(delivered).toHaveLength(200);
  });

  it('maps Apple statuses: 410 and BadDeviceToken invalidate the token, 403 is the certificate, 429/500 retry, other 4xx rejected', async () => {
    sim.register(token(500), () => undefined);
    const send = () => client.push({ tokenHex: token(500), pushMagic: 'm', topic });
    sim.inject(token(500), 403, 'BadCertificateEnvironment');
    expect(await send()).toEqual({ kind: 'certificate', status: 403, reason: 'BadCertificateEnvironment' });
    sim.inject(token(500), 429, 'TooManyRequests');
    expect(await send()).toEqual({ kind: 'retry', status: 429, reason: 'TooManyRequests' });
    sim.inject(token(500), 500, 'InternalServerError');
    expect(await send()).toEqual({ kind: 'retry', status: 500, reason: 'InternalServerError' });
    sim.inject(token(500), 400, 'BadCollapseId');
    expect(await send()).toEqual({ kind: 'rejected', status: 400, reason: 'BadCollapseId' });
    expect(await client.push({ tokenHex: token(501), pushMagic: 'm', topic })).toEqual({
      kind: 'token-invalid',
      status: 400,
      reason: 'BadDeviceToken',
    });
    sim.unregister(token(500));
    expect(await send()).toEqual({ kind: 'token-invalid', status: 410, reason: 'Unregistered' });
    expect(await client.push({ tokenHex: token(1), pushMagic: 'm', topic: 'com.apple.mgmt.External.other' })).toEqual({
      kind: 'rejected',
      status: 400,
      reason: 'TopicDisallowed',
    });
  });

  it('reopens the session after GOAWAY', async () => {
    sim.register(token(600), () => undefined);
    expect((await client.push({ tokenHex: token(600), pushMagic: 'm', topic })).kind).toBe('sent');
    const before = sim.sessions;
    sim.goAwayAll();
    await new Promise((r) => setTimeout(r, 50));
    expect((await client.push({ tokenHex: token(600), pushMagic: 'm', topic })).kind).toBe('sent');
    expect(sim.sessions).toBe(before + 1);
  });

  it('a provider without a certificate Apple issued is refused at the TLS handshake: retry later, nothing sent', async () => {
    const stranger = await issuePushCertificate(await createCa('Not Apple'), topic);
    const rogue = new ApnsClient({ url: sim.url, certPem: stranger.certPem, keyPem: stranger.keyPem, caPem: serverCa.certPem });
    const count = sim.count;
    const outcome = await rogue.push({ tokenHex: token(1), pushMagic: 'm', topic });
    expect(outcome.kind).toBe('retry');
    expect(sim.count).toBe(count);
    await rogue.close();
  });
});
