import { once } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WindowsDevice, WnsSimulator } from '@edgehub/simulators/windows';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import type { WakeEvent } from '../../hub/src/push/wake-worker.js';
import { startHub, type RunningHub, clientCredentialsToken } from '../src/index.js';

const enrollmentSecret = 'enroll-me-7f3a';
const wnsClient = { clientId: 'ms-app://s-1-15-2-1234-5678', clientSecret: 'wns-secret-for-tests' };

/** Issue 11's Windows acceptance on the real hub: enrollment, WNS wake-ups and SyncML sessions on the shared command core. */
describe('Windows on the command core (docs/DEVICE-MANAGEMENT.md, "Windows")', () => {
  let h: RunningHub;
  let wns: WnsSimulator;
  let pc: WindowsDevice;
  let bearer: string;

  type Json = Record<string, unknown>;
  const dm = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${h.baseUrl}/api/device-mgt/v1.0${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };

  beforeAll(async () => {
    wns = new WnsSimulator(wnsClient);
    await wns.start();
    Object.assign(process.env, {
      HUB_WNS_TOKEN_URL: wns.tokenUrl,
      HUB_WNS_CLIENT_ID: wnsClient.clientId,
      HUB_WNS_CLIENT_SECRET: wnsClient.clientSecret,
      HUB_WNS_CHANNEL_ORIGINS: wns.origin,
      HUB_WINDOWS_ENROLLMENT_SECRET: enrollmentSecret,
    });
    h = await startHub();
    process.env['HUB_WINDOWS_ORG_ID'] = h.adminCreds.orgId;
    pc = new WindowsDevice({ baseUrl: h.baseUrl, upn: 'ana@example.org', enrollmentSecret, wns });
    await pc.enroll();
    await pc.poll(); // the first session after enrollment reports the WNS channel
    bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);
  });
  afterAll(async () => {
    await h?.close();
    await wns?.stop();
  });

  function statusOf(match: (c: CommandRecord) => boolean, status: string): Promise<CommandRecord> {
    return new Promise((resolve) => {
      const on = (c: CommandRecord) => {
        if (match(c) && c.operationStatus === status) {
          h.hub.commands.off('status', on);
          resolve(c);
        }
      };
      h.hub.commands.on('status', on);
    });
  }
  const byCode = (code: string) => (c: CommandRecord) => c.deviceType === 'windows' && c.name === code;

  function nextWake(kind: string): Promise<WakeEvent> {
    return new Promise((resolve) => {
      const on = (e: WakeEvent) => {
        if (e.wake.deviceType === 'windows' && e.outcome.kind === kind) {
          h.hub.push.worker.off('wake', on);
          resolve(e);
        }
      };
      h.hub.push.worker.on('wake', on);
    });
  }

  // A session still open when a command is queued takes it at once (no push): tests that need the
  // push path start with the device idle.
  beforeEach(() => pc.idle());

  const operate = (code: string, payload: Record<string, unknown> = {}) =>
    dm('POST', '/devices/windows/operations', { deviceIdentifiers: [pc.deviceId], operation: { code, payload } });

  it('enrollment puts the device in the directory with its channel URI as push token', async () => {
    const d = await h.hub.devices.byIdentifier('windows', pc.deviceId);
    expect(d).toMatchObject({ type: 'windows', orgId: h.adminCreds.orgId, status: 'ACTIVE', owner: 'ana@example.org' });
    expect(d!.properties).toMatchObject({ manufacturer: pc.manufacturer, model: pc.model, osVersion: pc.osVersion });
    expect(d!.push?.token).toBe(pc.channelUri);
  });

  it('DEVICE_LOCK: management REST → WNS raw push → SyncML session → Exec RemoteLock → Status 200 → COMPLETED', async () => {
    const done = statusOf(byCode('DEVICE_LOCK'), 'COMPLETED');
    const pushes = wns.pushes;
    expect((await operate('DEVICE_LOCK')).status).toBe(201);
    const c = await done;
    expect(pc.locked).toBe(true);
    expect(wns.pushes).toBe(pushes + 1);
    expect(wns.received.at(-1)).toMatchObject({ channel: pc.channelUri, type: 'wns/raw', contentType: 'application/octet-stream' });
    expect(pc.seen.at(-1)).toEqual({ kind: 'Exec', cmdId: c.commandId, targets: ['./Vendor/MSFT/RemoteLock/Lock'] });
    const ops = await dm('GET', `/devices/windows/${pc.deviceId}/operations`);
    expect(ops.body['operations']).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'DEVICE_LOCK', status: 'COMPLETED' })]));
  });

  it('DEVICE_INFO: Get of ./DevInfo and ./DevDetail, the Results stored with the COMPLETED operation', async () => {
    const done = statusOf(byCode('DEVICE_INFO'), 'COMPLETED');
    expect((await operate('DEVICE_INFO')).status).toBe(201);
    const c = await done;
    expect(c.result).toMatchObject({
      outcome: 'acknowledged',
      data: { status: 200, results: { './DevInfo/Man': pc.manufacturer, './DevDetail/SwV': pc.osVersion, './DevInfo/DevId': pc.deviceId } },
    });
  });

  it('a device that answers an Exec with an error code: the operation is ERROR with the status', async () => {
    pc.failExec.set('./Device/Vendor/MSFT/RemoteWipe/doWipe', 500);
    const done = statusOf(byCode('WIPE_DATA'), 'ERROR');
    await operate('WIPE_DATA');
    expect((await done).result).toMatchObject({ outcome: 'error', error: { status: 500, cmd: 'Exec' } });
    expect(pc.wiped).toBe(false);
    pc.failExec.clear();
  });

  it('WNS answers 401 (token expired): the hub fetches a new token once and the push goes through', async () => {
    wns.expireTokens();
    const [tokens, refused] = [wns.tokensIssued, wns.unauthorized];
    const done = statusOf(byCode('DEVICE_RING'), 'COMPLETED');
    await operate('DEVICE_RING');
    await done;
    expect(wns.unauthorized).toBe(refused + 1);
    expect(wns.tokensIssued).toBe(tokens + 1);
    expect(pc.rings).toBe(1);
  });

  it('WNS answers 429: the wake-up is retried with backoff and the command completes', async () => {
    wns.failNext(429, 1, 0);
    const retried = nextWake('retry-after');
    const done = statusOf(byCode('DEVICE_REBOOT'), 'COMPLETED');
    await operate('DEVICE_REBOOT');
    await retried;
    await done;
  });

  it('WNS answers 410 (channel expired): the channel is dropped, the command waits; a new channel from the device is used again', async () => {
    wns.expireChannel(pc.channelUri!);
    const dropped = nextWake('token-invalid');
    const pushes = pc.pushesReceived;
    await operate('DEVICE_LOCK');
    await dropped;
    const d = await h.hub.devices.byIdentifier('windows', pc.deviceId);
    expect(d!.push?.invalidSince).toBeDefined();
    const ops = await dm('GET', `/devices/windows/${pc.deviceId}/operations?operationStatus=PENDING`);
    expect(ops.body['operations']).toEqual([expect.objectContaining({ code: 'DEVICE_LOCK' })]);
    // Further commands are not pushed to the dead channel.
    const skipped = nextWake('dropped');
    await operate('DEVICE_RING');
    expect((await skipped).outcome).toMatchObject({ reason: 'no valid push token' });
    expect(pc.pushesReceived).toBe(pushes);
    // The device renews its channel (Windows does every few days) and checks in on its poll schedule.
    pc.renewChannel();
    const completed = statusOf(byCode('DEVICE_RING'), 'COMPLETED');
    await pc.poll();
    await completed;
    const renewed = await h.hub.devices.byIdentifier('windows', pc.deviceId);
    expect(renewed!.push).toMatchObject({ token: pc.channelUri });
    expect(renewed!.push?.invalidSince).toBeUndefined();
    // Pushes reach the new channel.
    const info = statusOf(byCode('DEVICE_INFO'), 'COMPLETED');
    await operate('DEVICE_INFO');
    await info;
    expect(pc.pushesReceived).toBe(pushes + 1);
  });

  it('malformed SyncML, a wrong media type, an oversized body or wrong credentials → documented errors, the outstanding command unchanged', async () => {
    pc.asleep = true;
    const woken = once(pc, 'push');
    const queued = statusOf(byCode('WIPE_DATA'), 'PENDING');
    const added = await operate('WIPE_DATA');
    expect(added.status).toBe(201);
    await woken;
    const sent = (await queued).commandId;
    const header = (secret?: string) => pc.header('99', 2, secret);
    const statusFor = (data: string) =>
      WindowsDevice.message(header(), { Status: [{ CmdID: '1', MsgRef: '1', CmdRef: sent, Cmd: 'Exec', Data: data }] });

    const refusals: [string, { status: number; body: string }][] = [
      ['not XML', await pc.post('<SyncML><SyncHdr>')],
      ['status not a code', await pc.post(statusFor('OK'))],
      ['status without CmdRef', await pc.post(statusFor('200').replace(`<CmdRef>${sent}</CmdRef>`, ''))],
      ['unsupported command', await pc.post(statusFor('200').replace('<Final/>', '<Sync><CmdID>9</CmdID></Sync><Final/>'))],
      ['entity declaration', await pc.post(`<!DOCTYPE x [<!ENTITY a "b">]>${statusFor('200')}`)],
      ['wrong VerProto', await pc.post(statusFor('200').replace('DM/1.2', 'DM/9.9'))],
    ];
    for (const [what, r] of refusals) expect({ what, ...r }).toEqual({ what, status: 400, body: 'MalformedSyncML' });
    expect(await pc.post(statusFor('200'), 'application/xml')).toEqual({ status: 415, body: 'UnsupportedMediaType' });
    expect(await pc.post(statusFor('200') + ' '.repeat(70_000))).toEqual({ status: 413, body: 'TooLarge' });
    const wrongSecret = WindowsDevice.message(header('not-the-secret'), {
      Status: [{ CmdID: '1', MsgRef: '1', CmdRef: sent, Cmd: 'Exec', Data: '200' }],
    });
    expect(await pc.post(wrongSecret)).toEqual({ status: 401, body: 'Unauthorized' });

    const still = await h.hub.commands.get(h.adminCreds.orgId, sent);
    expect(still).toMatchObject({ status: 'pending', operationStatus: 'PENDING' });
    expect(still.history.map((e) => e.status)).toEqual(['pending']);
    expect(pc.wiped).toBe(false);
    // The device's next real session completes it.
    pc.asleep = false;
    const done = statusOf((c) => c.commandId === sent, 'COMPLETED');
    await pc.poll();
    await done;
    expect(pc.wiped).toBe(true);
  });

  it('enrollment refusals: a wrong enrollment secret (401 Authentication fault) or a broken PKCS#10 (400 CertificateRequest) enroll nothing', async () => {
    const wrong = new WindowsDevice({ baseUrl: h.baseUrl, upn: 'eve@example.org', enrollmentSecret: 'guess' });
    await expect(wrong.enroll()).rejects.toThrow(/answered 401.*e:Authentication/s);
    const broken = new WindowsDevice({
      baseUrl: h.baseUrl,
      upn: 'eve@example.org',
      enrollmentSecret,
      csr: Buffer.from('not a csr').toString('base64'),
    });
    await expect(broken.enroll()).rejects.toThrow(/answered 400.*e:CertificateRequest/s);
    expect(await h.hub.devices.byIdentifier('windows', wrong.deviceId)).toBeUndefined();
    expect(await h.hub.devices.byIdentifier('windows', broken.deviceId)).toBeUndefined();
  });

  it('an operation Windows does not support is refused at the management REST (400) and nothing is queued', async () => {
    const before = (await dm('GET', `/devices/windows/${pc.deviceId}/operations`)).body;
    const r = await operate('INSTALL_APPLICATION', {});
    expect(r.status).toBe(400);
    expect((await dm('GET', `/devices/windows/${pc.deviceId}/operations`)).body).toEqual(before);
  });
});
