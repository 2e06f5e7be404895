import plist from 'plist';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApnsSimulator, IphoneAgent, issue, issuePushCertificate, type SimCa } from '@edgehub/simulators/apple';
import { startAppleSandbox, type AppleSandbox } from '@edgehub/simulators/apple/sandbox';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import { startHub, type RunningHub, clientCredentialsToken } from '../src/index.js';

const topic = 'com.apple.mgmt.External.3c9d2e1f-8a7b-4c6d-9e5f-0a1b2c3d4e5f';

/** The issue's acceptance on the real hub: the ios device type on the shared command and push core. */
describe('iOS on the command core: lock a phone end to end (docs/DEVICE-MANAGEMENT.md, "Apple MDM")', () => {
  let h: RunningHub;
  let apns: ApnsSimulator;
  let deviceCa: SimCa;
  let sandbox: AppleSandbox;
  let phone: IphoneAgent;
  let deviceId: string;
  let bearer: string;
  let otherPush: { certPem: string; keyPem: string };

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
    sandbox = await startAppleSandbox({ topic });
    ({ apns, deviceCa } = sandbox);
    otherPush = await issuePushCertificate(sandbox.apple, 'com.apple.mgmt.External.another-topic');
    Object.assign(process.env, sandbox.env);
    h = await startHub();
    process.env['HUB_IOS_ORG_ID'] = h.adminCreds.orgId;
    phone = new IphoneAgent({ serverUrl: `${h.baseUrl}/mdm`, topic, identity: await issue(deviceCa, { subject: { CN: 'iPhone' } }), apns });
    await phone.enroll();
    const d = await h.hub.devices.byIdentifier('ios', phone.udid);
    deviceId = d!.id;
    bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);
  });
  afterAll(async () => {
    await h?.close();
    await sandbox?.stop();
  });

  function statusOf(commandId: string, status: string): Promise<CommandRecord> {
    return new Promise((resolve) => {
      const on = (c: CommandRecord) => {
        if (c.commandId === commandId && c.operationStatus === status) {
          h.hub.commands.off('status', on);
          resolve(c);
        }
      };
      h.hub.commands.on('status', on);
    });
  }

  const lock = (name = 'DEVICE_LOCK', params: Record<string, unknown> = { Message: 'Lost' }) =>
    h.hub.commands.issue({
      target: { orgId: h.adminCreds.orgId, assetId: deviceId, productKey: 'ios', deviceKey: phone.udid },
      deviceType: 'ios',
      kind: 'operation',
      name,
      params,
      pendingTtlSeconds: 86_400,
      timeoutMs: 86_400_000,
      by: 'admin',
    });

  it('enrollment lands in the device directory with the push token', async () => {
    const d = await h.hub.devices.byIdentifier('ios', phone.udid);
    expect(d).toMatchObject({ type: 'ios', orgId: h.adminCreds.orgId, status: 'ACTIVE' });
  });

  it('administrator → DeviceLock through the management REST → PENDING → push → Idle → DeviceLock plist → Acknowledged → COMPLETED, with its history', async () => {
    const before = apns.count;
    const added = await dm('POST', '/devices/ios/operations', {
      deviceIdentifiers: [phone.udid],
      operation: { code: 'DEVICE_LOCK', payload: { Message: 'Lost' } },
    });
    expect(added.status).toBe(201);
    const pending = await dm('GET', `/devices/ios/${phone.udid}/operations`);
    const op = (pending.body['operations'] as Json[])[0]!;
    const completed =
      op['status'] === 'COMPLETED' ? Promise.resolve() : statusOf(String(op['id'] ?? op['operationId']), 'COMPLETED').then(() => undefined);
    await completed;
    expect(phone.locked).toBe(true);
    expect(apns.count).toBeGreaterThan(before);
    expect(apns.received.at(-1)).toMatchObject({ tokenHex: phone.tokenHex, payload: { mdm: phone.pushMagic }, topic, pushType: 'mdm' });
    const after = await dm('GET', `/devices/ios/${phone.udid}/operations`);
    expect(after.body['operations']).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: 'DEVICE_LOCK', status: 'COMPLETED' })]),
    );
    // One listing holds every kind of device.
    const all = await dm('GET', '/devices');
    expect((all.body['devices'] as Json[]).map((d) => d['type'])).toContain('ios');
  });

  it('the push certificate through the management REST: status, another topic refused (409) unless forced', async () => {
    expect(await dm('GET', '/ios/push-certificate')).toMatchObject({ status: 200, body: { topic } });
    expect((await dm('PUT', '/ios/push-certificate', { certificate: otherPush.certPem, privateKey: otherPush.keyPem })).status).toBe(409);
    expect(await dm('GET', '/ios/push-certificate')).toMatchObject({ body: { topic } });
  });

  it('NotNow keeps it queued; the next check-in completes it', async () => {
    phone.busy = true;
    const issued = await lock('DEVICE_INFO', { Queries: ['SerialNumber'] });
    await statusOf(issued.commandId, 'NOTNOW');
    phone.busy = false;
    const done = statusOf(issued.commandId, 'COMPLETED');
    await phone.poll();
    expect((await done).result).toMatchObject({ data: { QueryResponses: { SerialNumber: phone.serialNumber } } });
  });

  it('a result for an unknown CommandUUID is refused (400) and changes nothing', async () => {
    const issued = await lock('PROFILE_LIST', {});
    const res = await phone.put(
      `${h.baseUrl}/mdm`,
      `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>CommandUUID</key><string>999999999</string><key>Status</key><string>Acknowledged</string><key>UDID</key><string>${phone.udid}</string></dict></plist>`,
    );
    expect(res.status).toBe(400);
    await statusOf(issued.commandId, 'COMPLETED');
  });

  it('ClearPasscode carries the UnlockToken of the latest TokenUpdate, also when it changed after the command was issued', async () => {
    // A command's plist may be kept from its issue (docs/BENCHMARKS.md); ClearPasscode's never is.
    phone.busy = true;
    const issued = await lock('CLEAR_PASSCODE', {});
    await statusOf(issued.commandId, 'NOTNOW');
    phone.busy = false;
    const unlockToken = Buffer.from('a fresh unlock token');
    await phone.checkin({
      MessageType: 'TokenUpdate',
      Topic: topic,
      UDID: phone.udid,
      Token: phone.token,
      PushMagic: phone.pushMagic,
      UnlockToken: unlockToken,
    });
    const res = await phone.put(`${h.baseUrl}/mdm`, plist.build({ Status: 'Idle', UDID: phone.udid }));
    expect(res.status).toBe(200);
    const handed = plist.parse(await res.text()) as { CommandUUID: string; Command: { RequestType: string; UnlockToken: Buffer } };
    expect(handed.CommandUUID).toBe(issued.commandId);
    expect(handed.Command.RequestType).toBe('ClearPasscode');
    expect(handed.Command.UnlockToken).toEqual(unlockToken);
    const done = statusOf(issued.commandId, 'COMPLETED');
    await phone.put(`${h.baseUrl}/mdm`, plist.build({ CommandUUID: issued.commandId, Status: 'Acknowledged', UDID: phone.udid }));
    await done;
  });
});
