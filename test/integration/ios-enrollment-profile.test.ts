import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApnsSimulator, IphoneAgent, createCa, issue, issuePushCertificate, type Identity, type SimCa } from '@edgehub/simulators/apple';
import { eventually, newTenant, startHub, type RunningHub } from '../src/index.js';

const run = promisify(execFile);
const topic = 'com.apple.mgmt.External.5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';

/** Python's standard plistlib (strict XML) reads the profile; data fields come back as their length. */
const pythonLoad = `
import plistlib, sys, json
with open(sys.argv[1], 'rb') as f:
    d = plistlib.loads(f.read(), fmt=plistlib.FMT_XML)
def enc(o):
    if isinstance(o, bytes): return {'$data': len(o)}
    raise TypeError(type(o))
print(json.dumps(d, default=enc))
`;

type Json = Record<string, unknown>;

/** Python's plistlib reads the profile and writes the PKCS#12 payload's bytes to a file; prints the embedded password. */
const pythonPkcs12 = `
import plistlib, sys
with open(sys.argv[1], 'rb') as f:
    d = plistlib.loads(f.read(), fmt=plistlib.FMT_XML)
p = [x for x in d['PayloadContent'] if x['PayloadType'] == 'com.apple.security.pkcs12'][0]
mdm = [x for x in d['PayloadContent'] if x['PayloadType'] == 'com.apple.mdm'][0]
assert mdm['IdentityCertificateUUID'] == p['PayloadUUID']
with open(sys.argv[2], 'wb') as f:
    f.write(p['PayloadContent'])
print(p['Password'])
`;

/** A phone identity from PEM certificate and P-256 key (what the phone would take out of the PKCS#12). */
async function identityFromPem(certPem: string, keyPem: string): Promise<Identity> {
  const pkcs8 = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  return { certPem, keyPem, certDer: new X509Certificate(certPem).raw, privateKey };
}

/** docs/DEVICE-MANAGEMENT.md, "Apple: enrollment profile" and "Apple: which organization". */
describe('iOS enrollment profile download: the .mobileconfig, signed or not, enrolls the phone into the caller organization', () => {
  let h: RunningHub;
  let apns: ApnsSimulator;
  let deviceCa: SimCa;
  let dir: string;
  let tenant: Awaited<ReturnType<typeof newTenant>>;

  const token = async (accessKey: string, accessSecret: string, scope?: string) => {
    const r = await fetch(`${h.baseUrl}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${accessKey}:${accessSecret}`).toString('base64')}`,
      },
      body: scope ? `grant_type=client_credentials&scope=${encodeURIComponent(scope)}` : 'grant_type=client_credentials',
    });
    return ((await r.json()) as Json)['access_token'] as string;
  };
  const download = (bearer: string | undefined, body: unknown) =>
    fetch(`${h.baseUrl}/api/device-mgt/v1.0/ios/enrollment-profile`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify(body),
    });
  const scep = { kind: 'scep', url: 'https://scep.example.com/scep', challenge: 'one-time-challenge' };

  async function plistlib(bytes: Buffer | string): Promise<Json> {
    const f = join(dir, `profile-${Math.random().toString(36).slice(2)}.xml`);
    await writeFile(f, bytes);
    return JSON.parse((await run('python3', ['-c', pythonLoad, f])).stdout) as Json;
  }
  const mdmPayload = (profile: Json) => (profile['PayloadContent'] as Json[]).find((p) => p['PayloadType'] === 'com.apple.mdm')!;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ios-profile-'));
    const [apple, serverCa] = await Promise.all([createCa('Apple (sim)'), createCa('APNs server CA')]);
    deviceCa = await createCa('Device identity CA');
    const server = await issue(serverCa, { subject: { CN: 'localhost' }, ips: ['127.0.0.1'], server: true });
    const push = await issuePushCertificate(apple, topic);
    apns = new ApnsSimulator({ certPem: server.certPem, keyPem: server.keyPem, clientCaPem: apple.certPem });
    await apns.start();
    const f = (name: string) => join(dir, name);
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      f('signer.key'),
      '-out',
      f('signer.pem'),
      '-subj',
      '/CN=hub profile signer',
      '-days',
      '2',
    ]);
    await writeFile(f('apns-ca.pem'), serverCa.certPem);
    await writeFile(f('identity-ca.pem'), deviceCa.certPem);
    await writeFile(f('push.pem'), push.certPem);
    await writeFile(f('push.key'), push.keyPem, { mode: 0o600 });
    delete process.env['HUB_IOS_ORG_ID'];
    Object.assign(process.env, {
      HUB_IOS_APNS_URL: apns.url,
      HUB_IOS_APNS_CA_FILE: f('apns-ca.pem'),
      HUB_IOS_IDENTITY_CA_FILE: f('identity-ca.pem'),
      HUB_IOS_PUSH_CERT_FILE: f('push.pem'),
      HUB_IOS_PUSH_KEY_FILE: f('push.key'),
      HUB_IOS_PROFILE_SIGNER_CERT_FILE: f('signer.pem'),
      HUB_IOS_PROFILE_SIGNER_KEY_FILE: f('signer.key'),
    });
    h = await startHub();
    tenant = await newTenant(h, 'Profile tenant');
  });
  afterAll(async () => {
    await h?.close();
    await apns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('an unsigned profile parses with plistlib: MDM payload with this hub’s URLs, the push topic and the identity it names', async () => {
    const bearer = await token(tenant.accessKey, tenant.accessSecret);
    const res = await download(bearer, { identity: scep, organization: 'Profile tenant' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-apple-aspen-config/);
    const profile = await plistlib(Buffer.from(await res.arrayBuffer()));
    expect(profile).toMatchObject({ PayloadType: 'Configuration', PayloadOrganization: 'Profile tenant' });
    const identity = (profile['PayloadContent'] as Json[]).find((p) => p['PayloadType'] === 'com.apple.security.scep')!;
    expect(identity['PayloadContent']).toMatchObject({ URL: scep.url, Challenge: scep.challenge });
    const mdm = mdmPayload(profile);
    expect(mdm).toMatchObject({
      Topic: topic,
      ServerURL: `${h.baseUrl}/mdm`,
      IdentityCertificateUUID: identity['PayloadUUID'],
      SignMessage: true,
    });
    expect(String(mdm['CheckInURL'])).toMatch(new RegExp(`^${h.baseUrl}/mdm/checkin\\?enrollment=[A-Za-z0-9_-]{20,}$`));
  });

  it('a signed profile is CMS that openssl verifies against the hub’s signer, with the same profile inside', async () => {
    const bearer = await token(tenant.accessKey, tenant.accessSecret);
    const res = await download(bearer, { identity: scep, signed: true });
    expect(res.status).toBe(200);
    const der = Buffer.from(await res.arrayBuffer());
    expect(der[0]).toBe(0x30); // DER SEQUENCE, not XML
    await writeFile(join(dir, 'signed.mobileconfig'), der);
    await run('openssl', [
      'cms',
      '-verify',
      '-inform',
      'DER',
      '-in',
      join(dir, 'signed.mobileconfig'),
      '-CAfile',
      join(dir, 'signer.pem'),
      '-purpose',
      'any',
      '-out',
      join(dir, 'signed-content.xml'),
    ]);
    const inner = await plistlib(await readFile(join(dir, 'signed-content.xml')));
    expect(mdmPayload(inner)).toMatchObject({ Topic: topic, ServerURL: `${h.baseUrl}/mdm` });
    // Tampered content no longer verifies.
    const tampered = Buffer.from(der);
    const at = tampered.indexOf(Buffer.from(topic));
    tampered[at] = tampered[at]! ^ 0x01;
    await writeFile(join(dir, 'tampered.mobileconfig'), tampered);
    await expect(
      run('openssl', ['cms', '-verify', '-inform', 'DER', '-in', join(dir, 'tampered.mobileconfig'), '-CAfile', join(dir, 'signer.pem')]),
    ).rejects.toThrow();
  });

  it('the phone that installs it enrolls into the organization that downloaded it (no HUB_IOS_ORG_ID); a forged token is refused', async () => {
    const bearer = await token(tenant.accessKey, tenant.accessSecret);
    const mdm = mdmPayload(await plistlib(Buffer.from(await (await download(bearer, { identity: scep })).arrayBuffer())));
    const phone = new IphoneAgent({
      serverUrl: String(mdm['ServerURL']),
      checkInUrl: String(mdm['CheckInURL']),
      topic,
      identity: await issue(deviceCa, { subject: { CN: 'tenant phone' } }),
      apns,
    });
    await phone.enroll();
    expect(await h.hub.devices.byIdentifier('ios', phone.udid)).toMatchObject({ orgId: tenant.orgId, type: 'ios', status: 'ACTIVE' });

    // The same phone with another organization's profile: refused while it is enrolled in the first.
    const adminBearer = await token(h.adminCreds.accessKey, h.adminCreds.accessSecret);
    const otherMdm = mdmPayload(await plistlib(Buffer.from(await (await download(adminBearer, { identity: scep })).arrayBuffer())));
    const moved = new IphoneAgent({
      serverUrl: String(otherMdm['ServerURL']),
      checkInUrl: String(otherMdm['CheckInURL']),
      topic,
      identity: phone.opts.identity,
      udid: phone.udid,
      apns,
    });
    await expect(moved.enroll()).rejects.toThrow(/403.*EnrolledElsewhere/);
    expect(await h.hub.devices.byIdentifier('ios', phone.udid)).toMatchObject({ orgId: tenant.orgId, status: 'ACTIVE' });

    const intruder = new IphoneAgent({
      serverUrl: `${h.baseUrl}/mdm`,
      checkInUrl: `${h.baseUrl}/mdm/checkin?enrollment=${'A'.repeat(32)}`,
      topic,
      identity: await issue(deviceCa, { subject: { CN: 'intruder' } }),
      apns,
    });
    await expect(intruder.enroll()).rejects.toThrow(/403.*EnrollmentTokenInvalid/);
    expect(await h.hub.devices.byIdentifier('ios', intruder.udid)).toBeUndefined();
    // Without a token and without HUB_IOS_ORG_ID no Apple device enrolls.
    const stray = new IphoneAgent({
      serverUrl: `${h.baseUrl}/mdm`,
      topic,
      identity: await issue(deviceCa, { subject: { CN: 'stray' } }),
      apns,
    });
    await expect(stray.enroll()).rejects.toThrow(/403.*EnrollmentClosed/);
  });

  it('a hub-generated identity: the PKCS#12 opens with its password, the certificate verifies against the hub CA, and a phone using it enrolls and is locked', async () => {
    const bearer = await token(tenant.accessKey, tenant.accessSecret);
    const res = await download(bearer, { identity: { kind: 'generated' } });
    expect(res.status).toBe(200);
    const password = res.headers.get('x-identity-password')!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const f = (name: string) => join(dir, `generated-${name}`);
    await writeFile(f('profile.xml'), Buffer.from(await res.arrayBuffer()));
    const embedded = (await run('python3', ['-c', pythonPkcs12, f('profile.xml'), f('identity.p12')])).stdout.trim();
    expect(embedded).toBe(password);
    // openssl opens it with the password, and only with it.
    await run('openssl', ['pkcs12', '-in', f('identity.p12'), '-passin', `pass:${password}`, '-nodes', '-nocerts', '-out', f('key.pem')]);
    await run('openssl', ['pkcs12', '-in', f('identity.p12'), '-passin', `pass:${password}`, '-clcerts', '-nokeys', '-out', f('cert.pem')]);
    await run('openssl', [
      'pkcs12',
      '-in',
      f('identity.p12'),
      '-passin',
      `pass:${password}`,
      '-cacerts',
      '-nokeys',
      '-out',
      f('chain.pem'),
    ]);
    await expect(run('openssl', ['pkcs12', '-in', f('identity.p12'), '-passin', 'pass:not-the-password', '-nodes'])).rejects.toThrow();
    // The certificate chains to the hub's root (the CA every device of this hub trusts).
    const verified = await run('openssl', [
      'verify',
      '-CAfile',
      join(h.dataDir, 'tls', 'ca.crt'),
      '-untrusted',
      f('chain.pem'),
      f('cert.pem'),
    ]);
    expect(verified.stdout).toMatch(/: OK/);
    const certPem = (await readFile(f('cert.pem'), 'utf8')).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0];
    const keyPem = await readFile(f('key.pem'), 'utf8');
    expect(new X509Certificate(certPem).serialNumber.toLowerCase().replace(/^0+/, '')).toBe(
      res.headers.get('x-identity-certificate-serial'),
    );

    // A phone using that identity enrolls into the tenant (Authenticate, TokenUpdate) and runs a command.
    const mdm = mdmPayload(await plistlib(await readFile(f('profile.xml'))));
    const identity = await identityFromPem(certPem, keyPem);
    const phone = new IphoneAgent({ serverUrl: String(mdm['ServerURL']), checkInUrl: String(mdm['CheckInURL']), topic, identity, apns });
    await phone.enroll();
    expect(await h.hub.devices.byIdentifier('ios', phone.udid)).toMatchObject({ orgId: tenant.orgId, status: 'ACTIVE' });
    const added = await fetch(`${h.baseUrl}/api/device-mgt/v1.0/devices/ios/operations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceIdentifiers: [phone.udid], operation: { code: 'DEVICE_LOCK', payload: { Message: 'Lost' } } }),
    });
    expect(added.status).toBe(201);
    await eventually(() => phone.locked, 20_000, 'the phone executes DeviceLock');
    await eventually(
      async () =>
        (
          (await (
            await fetch(`${h.baseUrl}/api/device-mgt/v1.0/devices/ios/${phone.udid}/operations`, {
              headers: { authorization: `Bearer ${bearer}` },
            })
          ).json()) as { operations: Json[] }
        ).operations.some((o) => o['code'] === 'DEVICE_LOCK' && o['status'] === 'COMPLETED'),
      20_000,
      'DEVICE_LOCK is COMPLETED',
    );

    // The identity belongs to the tenant: with another organization's profile it is refused.
    const adminBearer = await token(h.adminCreds.accessKey, h.adminCreds.accessSecret);
    const otherMdm = mdmPayload(await plistlib(Buffer.from(await (await download(adminBearer, { identity: scep })).arrayBuffer())));
    const crossing = new IphoneAgent({
      serverUrl: String(otherMdm['ServerURL']),
      checkInUrl: String(otherMdm['CheckInURL']),
      topic,
      identity,
      apns,
    });
    await expect(crossing.enroll()).rejects.toThrow(/403.*IdentityMismatch/);
    expect(await h.hub.devices.byIdentifier('ios', crossing.udid)).toBeUndefined();
  });

  it('a certificate of the same hub CA that the hub did not issue as an MDM identity (an MQTT device’s) is refused at check-in', async () => {
    const ops = h.hub.certificates!.ops;
    const { subjectRules } = await ops.caCertificates();
    const f = (name: string) => join(dir, `mqtt-${name}`);
    const subj = `/C=${subjectRules.C}/ST=${subjectRules.ST}/L=x/O=${subjectRules.O}/OU=x/CN=mqtt-device-cert`;
    await run('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      f('key.pem'),
      '-out',
      f('csr.pem'),
      '-subj',
      subj,
    ]);
    const issued = await ops.issue({
      csrPem: await readFile(f('csr.pem'), 'utf8'),
      issueAuthority: 'ECC',
      binding: { orgId: tenant.orgId, productKey: 'someProduct', deviceKey: 'someDevice', assetId: 'someAsset' },
    });
    const bearer = await token(tenant.accessKey, tenant.accessSecret);
    const mdm = mdmPayload(await plistlib(Buffer.from(await (await download(bearer, { identity: scep })).arrayBuffer())));
    const phone = new IphoneAgent({
      serverUrl: String(mdm['ServerURL']),
      checkInUrl: String(mdm['CheckInURL']),
      topic,
      identity: await identityFromPem(issued.certificate.certPem, await readFile(f('key.pem'), 'utf8')),
      apns,
    });
    await expect(phone.enroll()).rejects.toThrow(/401.*IdentityInvalid/);
    expect(await h.hub.devices.byIdentifier('ios', phone.udid)).toBeUndefined();
  });

  it('needs a bearer token with dm:devices:manage; bad identities are 400', async () => {
    expect((await download(undefined, { identity: scep })).status).toBe(401);
    const viewer = await token(tenant.accessKey, tenant.accessSecret, 'dm:devices:view');
    expect((await download(viewer, { identity: scep })).status).toBe(403);
    const bearer = await token(tenant.accessKey, tenant.accessSecret);
    expect((await download(bearer, { identity: { kind: 'scep', url: 'https://scep.example.com' } })).status).toBe(400);
    expect((await download(bearer, { identity: { kind: 'scep', url: 'ftp://x', challenge: 'c' } })).status).toBe(400);
    expect((await download(bearer, { identity: { kind: 'smoke-signals' } })).status).toBe(400);
    expect((await download(bearer, { identity: scep, validDays: 365 })).status).toBe(400);
    expect((await download(bearer, { identity: { kind: 'generated', password: 'short' } })).status).toBe(400);
  });
});
