/**
 * The pull side of the command core (docs/DEVICE-MANAGEMENT.md, "Wake and pull"): order, NotNow
 * per check-in session, stored deadlines, results that do not belong to the device, a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandCore, defaultCommandLimits } from '../src/commands/command-core.js';
import type { CommandRecord } from '../src/commands/records.js';
import { DeviceTypes } from '../src/device-types/plugins.js';
import { DeviceMgtError } from '../src/device-management/errors.js';
import { collectionSpecs } from '../src/registry/collections.js';
import { openEmbeddedStore } from '../src/store/embedded/store.js';
import type { Store } from '../src/store/port.js';
import { jsonPullDeviceType } from './support/pull-device-type.js';

const log = pino({ level: 'silent' });
const phone = { deviceType: 'json-pull', deviceId: 'dev-1' };
const target = (deviceId: string) => ({ orgId: 'o1', assetId: deviceId, productKey: 'json-pull', deviceKey: `udid-${deviceId}` });

describe('pull queue', () => {
  let dir: string;
  let store: Store;
  let core: CommandCore;
  let now: number;
  let woken: string[];

  const open = async () => {
    store = await openEmbeddedStore({ path: join(dir, 'db') });
    core = new CommandCore(
      await store.collection<CommandRecord>(collectionSpecs.commands),
      new DeviceTypes([jsonPullDeviceType()]),
      log,
      defaultCommandLimits,
      () => now,
    );
    core.setWaker(async (c) => void woken.push(c.commandId));
    await core.start();
  };
  const baseIssue = (deviceId: string, ttl = 86_400) => ({
    target: target(deviceId),
    deviceType: 'json-pull',
    kind: 'operation' as const,
    name: '',
    params: {},
    pendingTtlSeconds: ttl,
    timeoutMs: 3_600_000,
    by: 'admin',
  });
  const issue = (code: string, deviceId = 'dev-1', ttl = 86_400) => core.issue({ ...baseIssue(deviceId, ttl), name: code });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pull-queue-'));
    now = 1_800_000_000_000;
    woken = [];
    await open();
  });
  afterEach(async () => {
    await core.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an identical command issued again while one waits (pending or NotNow) ends the old one REPEATED; the device runs it once', async () => {
    const issueWith = (code: string, params: Record<string, unknown>, deviceId = 'dev-1') =>
      core.issue({ ...baseIssue(deviceId), name: code, params });
    const statuses: CommandRecord[] = [];
    core.on('status', (c) => statuses.push(c));
    const first = await issueWith('DEVICE_LOCK', { Message: 'Lost', PIN: '123456' });
    now += 1;
    const other = await issueWith('DEVICE_LOCK', { Message: 'Found' }); // other parameters: both stay
    const elsewhere = await issueWith('DEVICE_LOCK', { Message: 'Lost', PIN: '123456' }, 'dev-2'); // other device: stays
    now += 1;
    const again = await issueWith('DEVICE_LOCK', { PIN: '123456', Message: 'Lost' }); // same, keys in another order
    const old = (await core.search('o1', { commandId: first.commandId }, {})).items[0]!;
    expect(old).toMatchObject({ status: 'repeated', operationStatus: 'REPEATED' });
    expect(old.history.at(-1)).toMatchObject({ status: 'repeated', note: `superseded by ${again.commandId}` });
    expect(statuses.some((c) => c.commandId === first.commandId && c.operationStatus === 'REPEATED')).toBe(true);
    // The device gets the other lock and the new one, never the superseded one.
    const handed: string[] = [];
    for (let next = await core.pull.nextCommand(phone, 's1'); next; next = await core.pull.nextCommand(phone, 's1')) {
      handed.push(next.command.commandId);
      await core.pull.report(phone, 's1', { commandId: next.command.commandId, outcome: 'acknowledged' });
    }
    expect(handed).toEqual([other.commandId, again.commandId]);
    expect((await core.pull.nextCommand({ ...phone, deviceId: 'dev-2' }, 's1'))?.command.commandId).toBe(elsewhere.commandId);

    // Deferred with NotNow: still waiting, so superseded too.
    const deferred = await issueWith('DEVICE_INFO', { Queries: ['UDID'] });
    await core.pull.nextCommand(phone, 's2');
    await core.pull.report(phone, 's2', { commandId: deferred.commandId, outcome: 'not-now' });
    now += 1;
    await issueWith('DEVICE_INFO', { Queries: ['UDID'] });
    expect((await core.search('o1', { commandId: deferred.commandId }, {})).items[0]).toMatchObject({ operationStatus: 'REPEATED' });

    // Handed out and not answered: the device may be running it, so it is left alone.
    const third = { ...phone, deviceId: 'dev-3' };
    const running = await issueWith('DEVICE_LOCK', {}, 'dev-3');
    expect((await core.pull.nextCommand(third, 's3'))?.command.commandId).toBe(running.commandId);
    now += 1;
    const next = await issueWith('DEVICE_LOCK', {}, 'dev-3');
    expect((await core.search('o1', { commandId: running.commandId }, {})).items[0]).toMatchObject({ status: 'sent' });
    // The old one's answer still counts, and the new one follows.
    const answered = await core.pull.report(third, 's3', { commandId: running.commandId, outcome: 'acknowledged' });
    expect(answered.operationStatus).toBe('COMPLETED');
    expect((await core.pull.nextCommand(third, 's3'))?.command.commandId).toBe(next.commandId);
  });

  it('queues as PENDING, asks for a wake-up, and hands commands out oldest first with their wire form', async () => {
    const a = await issue('DEVICE_LOCK');
    now += 1;
    const b = await issue('DEVICE_INFO');
    expect(a.operationStatus).toBe('PENDING');
    expect(woken).toEqual([a.commandId, b.commandId]);
    const first = await core.pull.nextCommand(phone, 's1');
    expect(first?.command.commandId).toBe(a.commandId);
    expect(JSON.parse(first!.wire as string)).toEqual({ id: a.commandId, code: 'DEVICE_LOCK', payload: {} });
    const done = await core.pull.report(phone, 's1', { commandId: a.commandId, outcome: 'acknowledged' });
    expect(done.status).toBe('acknowledged');
    expect(done.operationStatus).toBe('COMPLETED');
    expect((await core.pull.nextCommand(phone, 's1'))?.command.commandId).toBe(b.commandId);
    await core.pull.report(phone, 's1', { commandId: b.commandId, outcome: 'error', error: [{ ErrorCode: 12021 }] });
    expect(await core.pull.nextCommand(phone, 's1')).toBeUndefined();
    const stored = await core.get('o1', b.commandId);
    expect(stored.operationStatus).toBe('ERROR');
    expect(stored.result).toEqual({ outcome: 'error', error: [{ ErrorCode: 12021 }] });
    expect(stored.history.map((h) => h.status)).toEqual(['pending', 'sent', 'error']);
  });

  it('does not hand a NotNow command out again in the same session, but does in the next one', async () => {
    const a = await issue('DEVICE_LOCK');
    now += 1;
    const b = await issue('DEVICE_INFO');
    expect((await core.pull.nextCommand(phone, 's1'))?.command.commandId).toBe(a.commandId);
    const deferred = await core.pull.report(phone, 's1', { commandId: a.commandId, outcome: 'not-now' });
    expect(deferred.operationStatus).toBe('NOTNOW');
    expect((await core.pull.nextCommand(phone, 's1'))?.command.commandId).toBe(b.commandId);
    await core.pull.report(phone, 's1', { commandId: b.commandId, outcome: 'acknowledged' });
    expect(await core.pull.nextCommand(phone, 's1')).toBeUndefined();
    const again = await core.pull.nextCommand(phone, 's2');
    expect(again?.command.commandId).toBe(a.commandId);
    expect(again?.command.notNowCount).toBe(1);
    expect((await core.pull.report(phone, 's2', { commandId: a.commandId, outcome: 'acknowledged' })).operationStatus).toBe('COMPLETED');
  });

  it('hands a command that was sent but never answered out again at the next check-in', async () => {
    const a = await issue('DEVICE_LOCK');
    expect((await core.pull.nextCommand(phone, 's1'))?.command.commandId).toBe(a.commandId);
    expect((await core.pull.nextCommand(phone, 's2'))?.command.commandId).toBe(a.commandId);
  });

  it('never hands out a command past its stored deadline and sweeps it to TIMEOUT', async () => {
    const a = await issue('DEVICE_LOCK', 'dev-1', 60);
    const b = await issue('DEVICE_INFO', 'dev-2', 60);
    await core.pull.nextCommand({ deviceType: 'json-pull', deviceId: 'dev-2' }, 's1');
    now += 61_000;
    expect(await core.pull.nextCommand(phone, 's1')).toBeUndefined();
    expect((await core.get('o1', a.commandId)).operationStatus).toBe('TIMEOUT');
    await core.sweep();
    const swept = await core.get('o1', b.commandId);
    expect([swept.status, swept.operationStatus]).toEqual(['timeout', 'TIMEOUT']);
  });

  it("refuses results for unknown commands, for another device's command and for answered ones, changing nothing", async () => {
    const a = await issue('DEVICE_LOCK');
    const other = await issue('DEVICE_LOCK', 'dev-2');
    await core.pull.nextCommand(phone, 's1');
    const status = (p: Promise<unknown>) =>
      p.then(
        () => 0,
        (e: unknown) => (e instanceof DeviceMgtError ? e.status : -1),
      );
    expect(await status(core.pull.report(phone, 's1', { commandId: '123', outcome: 'acknowledged' }))).toBe(404);
    expect(await status(core.pull.report(phone, 's1', { commandId: other.commandId, outcome: 'acknowledged' }))).toBe(404);
    expect((await core.get('o1', other.commandId)).status).toBe('pending');
    await core.pull.report(phone, 's1', { commandId: a.commandId, outcome: 'acknowledged' });
    expect(await status(core.pull.report(phone, 's1', { commandId: a.commandId, outcome: 'error' }))).toBe(409);
    expect((await core.get('o1', a.commandId)).operationStatus).toBe('COMPLETED');
  });

  it('refuses an operation the device type cannot render, and an instant or too long deadline, storing nothing', async () => {
    await expect(issue('WIPE_EVERYTHING')).rejects.toThrow(/unknown operation/);
    await expect(issue('DEVICE_LOCK', 'dev-1', 0)).rejects.toMatchObject({ code: 99400 });
    await expect(issue('DEVICE_LOCK', 'dev-1', 31 * 86_400)).rejects.toMatchObject({ code: 99400 });
    expect(await core.pull.nextCommand(phone, 's1')).toBeUndefined();
  });

  it("clears a device's outstanding commands as ERROR (a new enrollment) and leaves other devices alone", async () => {
    const a = await issue('DEVICE_LOCK');
    const other = await issue('DEVICE_LOCK', 'dev-2');
    await core.pull.nextCommand(phone, 's1');
    expect(await core.pull.clear(phone, 'the device enrolled again')).toBe(1);
    expect((await core.get('o1', a.commandId)).operationStatus).toBe('ERROR');
    expect(await core.pull.nextCommand(phone, 's2')).toBeUndefined();
    expect((await core.get('o1', other.commandId)).operationStatus).toBe('PENDING');
  });

  it('keeps outstanding commands across a restart: nothing lost, an answered one not handed out again', async () => {
    const a = await issue('DEVICE_LOCK');
    now += 1;
    const b = await issue('DEVICE_INFO');
    await core.pull.nextCommand(phone, 's1');
    await core.pull.report(phone, 's1', { commandId: a.commandId, outcome: 'acknowledged' });
    await core.pull.nextCommand(phone, 's1'); // b handed out, then the hub stops before the answer
    await core.stop();
    await store.close();
    await open();
    const after = await core.pull.nextCommand(phone, 's2');
    expect(after?.command.commandId).toBe(b.commandId);
    await core.pull.report(phone, 's2', { commandId: b.commandId, outcome: 'acknowledged' });
    expect(await core.pull.nextCommand(phone, 's2')).toBeUndefined();
  });
});
