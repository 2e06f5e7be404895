import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plist from 'plist';
import { issue } from '@edgehub/simulators/apple';
import type { MdmOperationRecord } from '../src/device-types/ios/local-queue.js';
import { openIosHarness, testTopic, type IosHarness } from './support/ios-harness.js';

function completion(h: IosHarness, commandUuid: string, status: MdmOperationRecord['status']): Promise<MdmOperationRecord> {
  return new Promise((resolve) => {
    const check = (rec: MdmOperationRecord) => {
      if (rec.commandUuid === commandUuid && rec.status === status) {
        h.plugin.queue.off('status', check);
        resolve(rec);
      }
    };
    h.plugin.queue.on('status', check);
    void h.plugin.queue.get(commandUuid).then((rec) => rec && check(rec));
  });
}

describe('Apple MDM: lock a phone through APNs (docs/DEVICE-MANAGEMENT.md, "Apple MDM")', () => {
  let h: IosHarness;
  beforeAll(async () => {
    h = await openIosHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('queues DeviceLock, pushes {"mdm": PushMagic} through APNs, the phone checks in and the operation is COMPLETED', async () => {
    const phone = await h.agent();
    const enrollment = await h.plugin.enrollments.get(phone.udid);
    expect(enrollment).toMatchObject({ enabled: true, tokenHex: phone.tokenHex, pushMagic: phone.pushMagic, topic: testTopic });

    const op = await h.plugin.enqueue(phone.udid, 'DEVICE_LOCK', { Message: 'Lost <device> & call IT', PhoneNumber: '+1 555 0100' });
    expect(op).toMatchObject({ requestType: 'DeviceLock', status: 'PENDING' });
    const done = await completion(h, op.commandUuid, 'COMPLETED');

    expect(phone.locked).toBe(true);
    expect(done.history.map((s) => s.status)).toEqual(['PENDING', 'IN_PROGRESS', 'COMPLETED']);
    expect(plist.parse(done.response!)).toMatchObject({ CommandUUID: op.commandUuid, Status: 'Acknowledged', MessageResult: 'Success' });
    const push = h.apns.received.find((p) => p.tokenHex === phone.tokenHex);
    expect(push).toMatchObject({ topic: testTopic, pushType: 'mdm', priority: '10', payload: { mdm: phone.pushMagic }, status: 200 });
    expect(phone.executed).toEqual([{ commandUuid: op.commandUuid, requestType: 'DeviceLock', status: 'Acknowledged' }]);
  });

  it('NotNow keeps the command queued, it is not re-sent in the same session, and a later check-in completes it', async () => {
    const phone = await h.agent();
    phone.busy = true;
    // Queued without a push; the second command's push wakes the phone once for both.
    const first = await h.plugin.queue.enqueue(phone.udid, 'DEVICE_INFO', { Queries: ['UDID', 'SerialNumber'] });
    const second = await h.plugin.enqueue(phone.udid, 'RestartDevice');
    await completion(h, second.commandUuid, 'NOTNOW');
    await completion(h, first.commandUuid, 'NOTNOW');
    // One session: each command offered once, both answered NotNow, then the server had nothing more.
    expect(phone.executed.map((e) => [e.requestType, e.status])).toEqual([
      ['DeviceInformation', 'NotNow'],
      ['RestartDevice', 'NotNow'],
    ]);

    phone.busy = false;
    await phone.poll();
    const info = await h.plugin.queue.get(first.commandUuid);
    expect(info?.status).toBe('COMPLETED');
    expect(info?.notNowCount).toBe(1);
    expect(plist.parse(info!.response!)).toMatchObject({ QueryResponses: { UDID: phone.udid, SerialNumber: phone.serialNumber } });
    expect((await h.plugin.queue.get(second.commandUuid))?.status).toBe('COMPLETED');
  });

  it('an unsupported command comes back as Error with its ErrorChain stored', async () => {
    const phone = await h.agent();
    const op = await h.plugin.queue.enqueue(phone.udid, 'DeviceLock', {});
    // A command the phone does not know, written as a stored record would be by a newer plugin.
    await h.store
      .collection<MdmOperationRecord>({ name: 'iosOperations', key: 'commandUuid', indexes: ['udid'] })
      .then((c) =>
        c.update(op.commandUuid, { plist: plist.build({ CommandUUID: op.commandUuid, Command: { RequestType: 'PlayLostModeSound' } }) }),
      );
    h.plugin.pusher.wake(phone.udid);
    const rec = await completion(h, op.commandUuid, 'ERROR');
    expect(plist.parse(rec.response!)).toMatchObject({ Status: 'Error', ErrorChain: [{ ErrorDomain: 'MCMDMErrorDomain' }] });
  });

  it('410 Unregistered stops pushes to the device until its next TokenUpdate', async () => {
    const phone = await h.agent();
    h.apns.unregister(phone.tokenHex);
    const op = await h.plugin.enqueue(phone.udid, 'DEVICE_LOCK');
    await h.plugin.pusher.idle();
    expect(h.outcomes.filter((o) => o.udid === phone.udid).map((o) => o.outcome)).toEqual([
      { kind: 'token-invalid', status: 410, reason: 'Unregistered' },
    ]);
    expect((await h.plugin.enrollments.get(phone.udid))?.pushInvalid).toBe(true);

    const before = h.apns.count;
    await h.plugin.enqueue(phone.udid, 'DEVICE_INFO');
    await h.plugin.pusher.idle();
    expect(h.apns.count).toBe(before);
    expect((await h.plugin.queue.get(op.commandUuid))?.status).toBe('PENDING');

    // Re-enrolled token: pushes resume and both queued commands are fetched.
    await phone.enroll();
    const again = await h.plugin.enqueue(phone.udid, 'DEVICE_LOCK');
    await completion(h, again.commandUuid, 'COMPLETED');
  });

  it('429 and 5xx are retried with backoff; the push arrives', async () => {
    const phone = await h.agent();
    h.apns.inject(phone.tokenHex, 429, 'TooManyRequests');
    h.apns.inject(phone.tokenHex, 503, 'ServiceUnavailable');
    const op = await h.plugin.enqueue(phone.udid, 'DEVICE_LOCK');
    await completion(h, op.commandUuid, 'COMPLETED');
    expect(h.outcomes.filter((o) => o.udid === phone.udid).map((o) => o.outcome.kind)).toEqual(['retry', 'sent']);
  });

  it('a restart while commands are outstanding loses nothing and sends nothing twice', async () => {
    const phone = await h.agent();
    phone.busy = true;
    const sessionEnd = once(phone, 'sessionEnd');
    const a = await h.plugin.enqueue(phone.udid, 'DEVICE_LOCK');
    await completion(h, a.commandUuid, 'NOTNOW');
    await sessionEnd;
    const b = await h.plugin.queue.enqueue(phone.udid, 'ProfileList', {});
    await h.restart();
    phone.busy = false;
    await phone.poll();
    expect((await h.plugin.queue.get(a.commandUuid))?.status).toBe('COMPLETED');
    expect((await h.plugin.queue.get(b.commandUuid))?.status).toBe('COMPLETED');
    const acked = phone.executed.filter((e) => e.status === 'Acknowledged').map((e) => e.commandUuid);
    expect(acked).toEqual([a.commandUuid, b.commandUuid]);
    await phone.poll();
    expect(phone.executed.filter((e) => e.status === 'Acknowledged')).toHaveLength(2);
  });

  it('CheckOut disables the enrollment: no pushes, command requests answered 410', async () => {
    const phone = await h.agent();
    await phone.checkOut();
    expect((await h.plugin.enrollments.get(phone.udid))?.enabled).toBe(false);
    await expect(h.plugin.enqueue(phone.udid, 'DEVICE_LOCK')).rejects.toThrow(/no enrolled iOS device/);
    const res = await phone.put(h.serverUrl, plist.build({ UDID: phone.udid, Status: 'Idle' }));
    expect(res.status).toBe(410);
  });

  it('refuses a check-in for another push topic (403) and a certificate already pinned to another enrollment (403)', async () => {
    const identity = await issue(h.deviceCa, { subject: { CN: 'shared' } });
    const phone = await h.agent({ identity });
    const other = new (phone.constructor as typeof import('@edgehub/simulators/apple').IphoneAgent)({
      serverUrl: h.serverUrl,
      topic: testTopic,
      identity,
      apns: h.apns,
    });
    await expect(other.enroll()).rejects.toThrow(/answered 403/);
    const wrongTopic = new (phone.constructor as typeof import('@edgehub/simulators/apple').IphoneAgent)({
      serverUrl: h.serverUrl,
      topic: 'com.apple.mgmt.External.other',
      identity: await issue(h.deviceCa, { subject: { CN: 'x' } }),
      apns: h.apns,
    });
    await expect(wrongTopic.enroll()).rejects.toThrow(/answered 403/);
    expect(await h.plugin.enrollments.get(other.udid)).toBeUndefined();
  });
});
