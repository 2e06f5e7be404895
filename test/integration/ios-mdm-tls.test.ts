import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import plist from 'plist';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IphoneAgent, createCa, issue, type Identity } from '@edgehub/simulators/apple';
import { startAppleSandbox, type AppleSandbox } from '@edgehub/simulators/apple/sandbox';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import { clientCredentialsToken, startHub, type RunningHub } from '../src/index.js';

const run = promisify(execFile);
type Json = Record<string, unknown>;

/** Python's plistlib reads the profile: the MDM payload as JSON, and the PKCS#12 identity written to a file with its password. */
const pythonProfile = `
import plistlib, sys, json
with open(sys.argv[1], 'rb') as f:
    d = plistlib.loads(f.read(), fmt=plistlib.FMT_XML)
p = [x for x in d['PayloadContent'] if x['PayloadType'] == 'com.apple.security.pkcs12'][0]
mdm = [x for x in d['PayloadContent'] if x['PayloadType'] == 'com.apple.mdm'][0]
with open(sys.argv[2], 'wb') as f:
    f.write(p['PayloadContent'])
print(json.dumps({'mdm': mdm, 'password': p['Password']}))
`;

/**
 * The Apple MDM endpoints over HTTPS with client certificates (docs/DEVICE-MANAGEMENT.md, "Apple:
 * device identity"): a phone whose profile has SignMessage false proves itself with its TLS client
 * certificate alone, pinned to its enrollment as a signature's certificate is.
 */
describe('iOS MDM over mutual TLS (HUB_IOS_MDM_TLS_PORT): the client certificate is the identity', () => {
  let sandbox: AppleSandbox;
  let h: RunningHub;
  let tlsUrl: string;
  let caPem: string;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ios-mdm-tls-'));
    sandbox = await startAppleSandbox();
    Object.assign(process.env, sandbox.env);
    h = await startHub({ iosMdmTlsPort: 0 });
    process.env['HUB_IOS_ORG_ID'] = h.adminCreds.orgId;
    tlsUrl = h.iosMdmTlsUrl!;
    process.env['HUB_IOS_MDM_TLS_URL'] = tlsUrl;
    caPem = await readFile(h.tlsCaPath, 'utf8');
  });
  afterAll(async () => {
    delete process.env['HUB_IOS_MDM_TLS_URL'];
    await h?.close();
    await sandbox?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const tlsPhone = (identity: Identity, udid?: string) =>
    new IphoneAgent({
      serverUrl: `${tlsUrl}/mdm`,
      topic: sandbox.topic,
      identity,
      apns: sandbox.apns,
      signMessage: false,
      tls: { caPem },
      ...(udid ? { udid } : {}),
    });

  function completed(commandId: string): Promise<CommandRecord> {
    return new Promise((resolve) => {
      const on = (c: CommandRecord) => {
        if (c.commandId === commandId && c.operationStatus === 'COMPLETED') {
          h.hub.commands.off('status', on);
          resolve(c);
        }
      };
      h.hub.commands.on('status', on);
    });
  }

  const lock = async (udid: string) => {
    const d = await h.hub.devices.byIdentifier('ios', udid);
    return h.hub.commands.issue({
      target: { orgId: d!.orgId, assetId: d!.id, productKey: 'ios', deviceKey: udid },
      deviceType: 'ios',
      kind: 'operation',
      name: 'DEVICE_LOCK',
      params: { Message: 'Lost' },
      pendingTtlSeconds: 86_400,
      timeoutMs: 86_400_000,
      by: 'admin',
    });
  };

  /** One raw PUT to the TLS listener, with or without a client certificate; nothing signed. */
  const rawPut = (path: string, body: string, identity?: Identity, contentType?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        `${tlsUrl}${path}`,
        {
          method: 'PUT',
          ca: caPem,
          agent: false,
          ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
          headers: { 'content-length': Buffer.byteLength(body), ...(contentType ? { 'content-type': contentType } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const idle = (udid: string) => plist.build({ Status: 'Idle', UDID: udid });

  it('a phone enrolls and is locked with no Mdm-Signature: its client certificate identifies it, on one kept-alive connection', async () => {
    const phone = tlsPhone(await sandbox.phoneIdentity('tls-phone'));
    await phone.enroll();
    expect(await h.hub.devices.byIdentifier('ios', phone.udid)).toMatchObject({ status: 'ACTIVE' });
    const cmd = await lock(phone.udid);
    const done = await completed(cmd.commandId);
    expect(done.operationStatus).toBe('COMPLETED');
    expect(phone.locked).toBe(true);
    phone.disconnect();
  });

  it('no certificate → 401 IdentityMissing; a certificate of an untrusted CA → 401 IdentityInvalid; another enrollment’s certificate → 403 IdentityMismatch; nothing changes state', async () => {
    const owner = tlsPhone(await sandbox.phoneIdentity('owner'));
    await owner.enroll();
    // The push wakes the owner, which would take the command: keep it busy so it answers NotNow.
    owner.busy = true;
    const cmd = await lock(owner.udid);

    const none = await rawPut('/mdm', idle(owner.udid));
    expect(none).toEqual({ status: 401, body: 'IdentityMissing' });

    const foreignCa = await createCa('Not an identity CA');
    const foreign = await issue(foreignCa, { subject: { CN: 'foreign' } });
    expect(await rawPut('/mdm', idle(owner.udid), foreign)).toEqual({ status: 401, body: 'IdentityInvalid' });

    const other = tlsPhone(await sandbox.phoneIdentity('other'));
    await other.enroll();
    const stolen = await rawPut('/mdm', idle(owner.udid), other.opts.identity);
    expect(stolen).toEqual({ status: 403, body: 'IdentityMismatch' });
    const checkin = await rawPut(
      '/mdm',
      plist.build({ MessageType: 'CheckOut', Topic: sandbox.topic, UDID: owner.udid }),
      other.opts.identity,
      'application/x-apple-aspen-mdm-checkin',
    );
    expect(checkin).toEqual({ status: 403, body: 'IdentityMismatch' });

    // The owner's command was neither handed out nor finished by any of these, and it is still enrolled.
    const rec = await h.hub.commands.get(h.adminCreds.orgId, cmd.commandId);
    expect(['PENDING', 'NOTNOW', 'IN_PROGRESS']).toContain(rec?.operationStatus);
    expect(await h.hub.devices.byIdentifier('ios', owner.udid)).toMatchObject({ status: 'ACTIVE' });
    owner.busy = false;
    const done = completed(cmd.commandId);
    await owner.poll();
    expect((await done).operationStatus).toBe('COMPLETED');
    owner.disconnect();
    other.disconnect();
  });

  it('serves the MDM endpoints only: the REST API answers 404 there', async () => {
    const health = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`${tlsUrl}/health`, { ca: caPem, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(health).toBe(404);
  });

  it('the profile with SignMessage false names the TLS listener; its hub-issued identity is accepted until revoked, then 401', async () => {
    const bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);
    const res = await fetch(`${h.baseUrl}/api/device-mgt/v1.0/ios/enrollment-profile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ identity: { kind: 'generated' } }),
    });
    expect(res.status).toBe(200);
    const f = (name: string) => join(dir, name);
    await writeFile(f('profile.xml'), Buffer.from(await res.arrayBuffer()));
    const read = JSON.parse((await run('python3', ['-c', pythonProfile, f('profile.xml'), f('identity.p12')])).stdout) as {
      mdm: Json;
      password: string;
    };
    expect(read.mdm).toMatchObject({ SignMessage: false, ServerURL: `${tlsUrl}/mdm` });
    expect(String(read.mdm['CheckInURL'])).toMatch(new RegExp(`^${tlsUrl}/mdm/checkin\\?enrollment=`));
    const pass = `pass:${read.password}`;
    await run('openssl', ['pkcs12', '-in', f('identity.p12'), '-passin', pass, '-nodes', '-nocerts', '-out', f('key.pem')]);
    await run('openssl', ['pkcs12', '-in', f('identity.p12'), '-passin', pass, '-clcerts', '-nokeys', '-out', f('cert.pem')]);
    const certPem = (await readFile(f('cert.pem'), 'utf8')).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0];
    const keyPem = await readFile(f('key.pem'), 'utf8');
    const pkcs8 = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
    const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
    const identity: Identity = { certPem, keyPem, certDer: new X509Certificate(certPem).raw, privateKey };

    const phone = new IphoneAgent({
      serverUrl: String(read.mdm['ServerURL']),
      checkInUrl: String(read.mdm['CheckInURL']),
      topic: sandbox.topic,
      identity,
      apns: sandbox.apns,
      signMessage: false,
      tls: { caPem },
    });
    await phone.enroll();
    expect(await h.hub.devices.byIdentifier('ios', phone.udid)).toMatchObject({ status: 'ACTIVE' });
    expect((await rawPut('/mdm', idle(phone.udid), identity)).status).toBe(200);

    await h.hub.certificates!.ops.revoke({ serialHex: res.headers.get('x-identity-certificate-serial')!, reason: 1 });
    // The hub re-reads an identity's revocation status at least once a minute (docs/DEVICE-MANAGEMENT.md).
    h.advanceClock(61_000);
    expect(await rawPut('/mdm', idle(phone.udid), identity)).toEqual({ status: 401, body: 'IdentityInvalid' });
    phone.disconnect();
  });
});
