import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plist from 'plist';
import { MdmSigner, createCa, issue, type Identity, type IphoneAgent } from '@edgehub/simulators/apple';
import { openIosHarness, type IosHarness } from './support/ios-harness.js';

const run = promisify(execFile);
const fixture = (name: string) => readFile(new URL(`./fixtures/ios/${name}`, import.meta.url));
const checkin = 'application/x-apple-aspen-mdm-checkin';

async function put(url: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'PUT', body, headers });
  return { status: res.status, text: await res.text() };
}

async function signed(identity: Identity, body: Buffer | string): Promise<Record<string, string>> {
  return { 'mdm-signature': await new MdmSigner(identity.certDer, identity.privateKey).sign(Buffer.from(body)) };
}

describe('Apple MDM endpoints: documented check-ins accepted, bad input refused with its status and no change (docs/DEVICE-MANAGEMENT.md, "Apple: errors")', () => {
  let h: IosHarness;
  let fixtureIdentity: Identity;
  let phone: IphoneAgent;
  let pendingUuid: string;

  /** The state a refused request must not touch: the phone's enrollment and its queue. */
  async function snapshot(): Promise<unknown> {
    return { enrollment: await h.plugin.enrollments.get(phone.udid), ops: await h.plugin.queue.list(phone.udid) };
  }

  beforeAll(async () => {
    h = await openIosHarness();
    fixtureIdentity = await issue(h.deviceCa, { subject: { CN: 'fixture iPad' } });
    phone = await h.agent();
    phone.busy = true;
    const op = await h.plugin.queue.enqueue(phone.udid, 'DeviceLock', {});
    pendingUuid = op.commandUuid;
  });
  afterAll(async () => {
    await h.close();
  });

  it('accepts Authenticate and TokenUpdate written as Apple documents them (Token and UnlockToken as data)', async () => {
    const auth = await fixture('authenticate.plist');
    expect(await put(h.serverUrl, auth, { 'content-type': checkin, ...(await signed(fixtureIdentity, auth)) })).toEqual({
      status: 200,
      text: '',
    });
    const token = await fixture('token-update.plist');
    expect(await put(h.serverUrl.replace(/\/mdm$/, '/mdm/checkin'), token, await signed(fixtureIdentity, token))).toEqual({
      status: 200,
      text: '',
    });
    const e = await h.plugin.enrollments.get('00008103-001A2B3C4D5E6F70');
    expect(e).toMatchObject({
      enabled: true,
      serialNumber: 'DMPVQ4XJQ1GC',
      pushMagic: '5E0F2D8A-41C7-4B9E-A3D2-9C81F0B6E417',
      tokenHex: Buffer.from('q2Xb0F4oT7m8yVJf3cKp1Rk9sWd6uE2hLnZgAiQxC5M=', 'base64').toString('hex'),
      unlockToken: 'REVNT1VOTE9DS1RPS0VOAAAAAQ==',
    });
  });

  it('verifies an Mdm-Signature made by openssl cms (signed attributes, detached)', async () => {
    const dir = h.dir;
    const body = plist.build({ UDID: phone.udid, Status: 'Idle' });
    await writeFile(join(dir, 'body'), body);
    const id = await issue(h.deviceCa, { subject: { CN: 'openssl signer' } });
    await writeFile(join(dir, 'cert.pem'), id.certPem);
    await writeFile(join(dir, 'key.pem'), id.keyPem, { mode: 0o600 });
    const auth = plist.build({
      MessageType: 'Authenticate',
      Topic: (await h.plugin.pushCertificates.current())!.topic,
      UDID: 'openssl-signed-device',
    });
    await writeFile(join(dir, 'auth'), auth);
    const { stdout } = await run(
      'openssl',
      [
        'cms',
        '-sign',
        '-binary',
        '-md',
        'sha256',
        '-in',
        join(dir, 'auth'),
        '-signer',
        join(dir, 'cert.pem'),
        '-inkey',
        join(dir, 'key.pem'),
        '-outform',
        'DER',
      ],
      { encoding: 'buffer' },
    );
    expect(await put(h.serverUrl, auth, { 'content-type': checkin, 'mdm-signature': Buffer.from(stdout).toString('base64') })).toEqual({
      status: 200,
      text: '',
    });
    expect((await h.plugin.enrollments.get('openssl-signed-device'))?.certSha256).toBeDefined();
  });

  const idle = () => plist.build({ UDID: phone.udid, Status: 'Idle' });
  type Make = () => Promise<{ body: string | Buffer; headers: Record<string, string> }>;
  const cases: [string, Make, number, string][] = [
    [
      'malformed XML',
      async () => ({
        body: '<plist><dict><key>Status</key>',
        headers: await signed(phone.opts.identity, '<plist><dict><key>Status</key>'),
      }),
      400,
      'MalformedPlist',
    ],
    [
      'not a plist',
      async () => ({ body: '{"Status":"Idle"}', headers: await signed(phone.opts.identity, '{"Status":"Idle"}') }),
      400,
      'MalformedPlist',
    ],
    [
      'a plist array',
      async () => ({ body: plist.build([1, 2] as never), headers: await signed(phone.opts.identity, plist.build([1, 2] as never)) }),
      400,
      'MalformedPlist',
    ],
    [
      'entity declarations',
      async () => {
        const body =
          '<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa">]><plist><dict><key>Status</key><string>&a;</string></dict></plist>';
        return { body, headers: await signed(phone.opts.identity, body) };
      },
      400,
      'MalformedPlist',
    ],
    ['a huge plist', async () => ({ body: Buffer.alloc(300 * 1024, 'a'), headers: {} }), 413, 'TooLarge'],
    [
      'unknown MessageType',
      async () => {
        const body = plist.build({ MessageType: 'Teleport', UDID: phone.udid, Topic: 'x' });
        return { body, headers: { 'content-type': checkin, ...(await signed(phone.opts.identity, body)) } };
      },
      400,
      'UnknownMessageType',
    ],
    [
      'unknown Status',
      async () => {
        const body = plist.build({ UDID: phone.udid, Status: 'Sleeping' });
        return { body, headers: await signed(phone.opts.identity, body) };
      },
      400,
      'UnknownStatus',
    ],
    ['no Mdm-Signature and no client certificate', async () => ({ body: idle(), headers: {} }), 401, 'IdentityMissing'],
    [
      'a signature over another body',
      async () => ({ body: idle(), headers: await signed(phone.opts.identity, plist.build({ UDID: phone.udid, Status: 'Idle', X: 1 })) }),
      401,
      'IdentityInvalid',
    ],
    ['garbage in Mdm-Signature', async () => ({ body: idle(), headers: { 'mdm-signature': 'bm90IGNtcw==' } }), 401, 'IdentityInvalid'],
    [
      'a signer from an untrusted CA',
      async () => {
        const rogue = await issue(await createCa('Rogue CA'), { subject: { CN: 'rogue' } });
        return { body: idle(), headers: await signed(rogue, idle()) };
      },
      401,
      'IdentityInvalid',
    ],
    [
      'an expired identity certificate',
      async () => {
        const old = await issue(h.deviceCa, { subject: { CN: 'old' }, notBefore: new Date(Date.now() - 10 * 86_400_000), validDays: 2 });
        return { body: idle(), headers: await signed(old, idle()) };
      },
      401,
      'IdentityInvalid',
    ],
    [
      'the certificate of another enrollment',
      async () => ({ body: idle(), headers: await signed(fixtureIdentity, idle()) }),
      403,
      'IdentityMismatch',
    ],
    [
      'an unknown UDID',
      async () => {
        const body = plist.build({ UDID: 'never-enrolled', Status: 'Idle' });
        return { body, headers: await signed(phone.opts.identity, body) };
      },
      404,
      'UnknownEnrollment',
    ],
    [
      'a result for an unknown CommandUUID',
      async () => {
        const body = plist.build({ UDID: phone.udid, Status: 'Acknowledged', CommandUUID: '00000000-0000-0000-0000-000000000000' });
        return { body, headers: await signed(phone.opts.identity, body) };
      },
      400,
      'UnknownCommandUUID',
    ],
    [
      'a result without CommandUUID',
      async () => {
        const body = plist.build({ UDID: phone.udid, Status: 'Acknowledged' });
        return { body, headers: await signed(phone.opts.identity, body) };
      },
      400,
      'MissingField',
    ],
    [
      'a TokenUpdate without Token',
      async () => {
        const body = plist.build({
          MessageType: 'TokenUpdate',
          UDID: phone.udid,
          Topic: (await h.plugin.pushCertificates.current())!.topic,
          PushMagic: 'x',
        });
        return { body, headers: { 'content-type': checkin, ...(await signed(phone.opts.identity, body)) } };
      },
      400,
      'MissingField',
    ],
  ];

  it.each(cases.map(([name, make, status, reason]) => [name, status, reason, make] as const))(
    '%s → %i %s, nothing changes',
    async (_name, status, reason, make) => {
      const before = await snapshot();
      const { body, headers } = await make();
      expect(await put(h.serverUrl, body, headers)).toEqual({ status, text: reason });
      expect(await snapshot()).toEqual(before);
      expect((await h.plugin.queue.get(pendingUuid))?.status).toBe('PENDING');
    },
  );

  it('the same phone still works after all of it', async () => {
    phone.busy = false;
    await phone.poll();
    expect((await h.plugin.queue.get(pendingUuid))?.status).toBe('COMPLETED');
  });
});
