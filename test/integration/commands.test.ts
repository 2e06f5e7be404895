import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';
import {
  connectDevice,
  newTenant,
  provision,
  startHub,
  subDeviceSign,
  wentOnline,
  type ProvisionedProduct,
  type RunningHub,
  type TestDevice,
} from '../src/index.js';

type Cmd = { commandId: string; status: string; reply: { code: number; outputData: unknown } | null; history: { status: string }[] };

/** The command core over REST and MQTT (docs/ENOS-PROTOCOL.md §4.2, §7.3). */
describe('commands', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let gwp: ProvisionedProduct;
  let subs: ProvisionedProduct;
  let gw: TestDevice;

  const invoke = (deviceKey: string, serviceId: string, inputData: unknown, q: Record<string, string> = {}) =>
    c.call<{ commandId: string; outputData?: unknown }>(
      'POST',
      '/connect-service/v2.1/commands',
      { action: 'invokeService', orgId, productKey: subs.productKey, deviceKey, serviceId, ...q },
      { inputData },
    );
  const getCmd = async (commandId: string) =>
    (await c.ok<Cmd>('GET', '/connect-service/v2.1/commands', { action: 'get', orgId, commandId })).data;

  /** What the gateway does with a command to one sub-device: the data to reply with, or undefined to stay silent. */
  type Behaviour = (topic: string, msg: { id: string; method: string; params: Record<string, number> }) => unknown | undefined;
  /** Each test sets the behaviour of the sub-devices it uses; a device without one never answers. */
  const behaviours = new Map<string, Behaviour>();

  /** The gateway answers service calls for its sub-devices like an edge would. */
  function answerServices(g: TestDevice) {
    g.client.on('message', (topic, payload) => {
      const parsed = topics.parse(topic);
      if (!parsed || parsed.isReply || (parsed.kind !== 'serviceInvoke' && parsed.kind !== 'measurepointSet')) return;
      const behaviour = behaviours.get(parsed.dk);
      if (!behaviour) return;
      const msg = JSON.parse(payload.toString()) as { id: string; method: string; params: Record<string, number> };
      const data = behaviour(topic, msg);
      if (data !== undefined) void g.client.publishAsync(topics.reply(topic), JSON.stringify({ id: msg.id, code: 200, data }), { qos: 0 });
    });
  }

  async function loginAll(g: TestDevice, keys: string[]) {
    const gk = gwp.devices[0]!;
    const ts = String(Date.now());
    const entries = subs.devices.filter((d) => keys.includes(d.deviceKey));
    const online = entries.map((d) => wentOnline(h, d.assetId));
    const r = await g.request(topics.combineLoginBatch(gk.productKey, gk.deviceKey), 'combine.login.batch', {
      clientId: gk.productKey,
      timestamp: ts,
      signMethod: 'sha256',
      subDevices: entries.map((d) => ({ productKey: d.productKey, deviceKey: d.deviceKey, sign: subDeviceSign(gk.productKey, d, ts) })),
    });
    expect(r.code).toBe(200);
    await Promise.all(online);
  }

  beforeAll(async () => {
    h = await startHub();
    ({ client: c, orgId } = await newTenant(h, 'commands'));
    gwp = await provision(c, orgId, { productType: 'Gateway', deviceKeys: ['gw'] });
    subs = await provision(c, orgId, {
      productType: 'Device',
      deviceKeys: ['fan', 'pump', 'silent', 'full', 'idle'],
      product: {
        thingModel: {
          measurepoints: { speed: { dataType: 'INT' } },
          services: {
            'fan.setSpeed': { inputData: { speed: { dataType: 'INT' } }, outputData: { applied: { dataType: 'INT' } } },
            reboot: { inputData: {}, outputData: {} },
          },
        },
      },
    });
    await c.ok(
      'POST',
      '/connect-service/v2.1/device-topos',
      { action: 'addSubDevice', orgId },
      { gateway: { assetId: gwp.devices[0]!.assetId }, subDevices: subs.devices.map((d) => ({ assetId: d.assetId })) },
    );
    // The gateway is online from the start; each test logs in the sub-devices it needs, so every
    // test runs alone as well as in the file.
    gw = await connectDevice(h.mqttUrl, gwp.devices[0]!);
    answerServices(gw);
  });
  afterAll(async () => {
    await gw?.end();
    await h?.close();
  });

  it('an instant command to an online sub-device behind a gateway returns its output data', async () => {
    const seen: string[] = [];
    behaviours.set('fan', (_t, msg) => {
      seen.push(`fan:${msg.method}:${JSON.stringify(msg.params)}`);
      return msg.method === 'thing.service.fan.setSpeed'
        ? { applied: msg.params['speed'] }
        : msg.method === 'thing.service.measurepoint.set'
          ? {}
          : undefined;
    });
    await loginAll(gw, ['fan']);
    const r = await invoke('fan', 'fan.setSpeed', { speed: 900 });
    expect(r).toMatchObject({ code: 0, data: { outputData: { applied: 900 } } });
    expect(seen).toEqual(['fan:thing.service.fan.setSpeed:{"speed":900}']);
    const stored = await getCmd(r.data.commandId);
    expect(stored.status).toBe('replied');
    expect(stored.history.map((x) => x.status)).toEqual(['pending', 'sent', 'replied']);
    // command ids never look like an SDK's own small request ids (§12)
    expect(r.data.commandId.length).toBeGreaterThan(12);

    const set = await c.call(
      'POST',
      '/connect-service/v2.1/commands',
      { action: 'setMeasurepoint', orgId, productKey: subs.productKey, deviceKey: 'fan', measurepointId: 'speed' },
      { value: 1200 },
    );
    expect(set.code).toBe(0);
    expect(seen[1]).toBe('fan:thing.service.measurepoint.set:{"speed":1200}');
  });

  it('refuses an instant command to an offline device with 11900', async () => {
    const r = await invoke('idle', 'reboot', {});
    expect(r).toMatchObject({ code: 11900 });
  });

  it('answers 11915 when the device does not reply within the timeout', async () => {
    await loginAll(gw, ['silent']);
    const r = await invoke('silent', 'reboot', {}, { timeout: '1' });
    expect(r.code).toBe(11915);
    const found = await c.ok<Cmd[]>(
      'POST',
      '/connect-service/v2.1/commands',
      { action: 'search', orgId },
      { expression: `deviceKey = 'silent' and status = 'timeout'` },
    );
    expect(found.data).toHaveLength(1);
  });

  it('delivers cached commands queued while offline in order after the device logs in, one at a time', async () => {
    // The first command gets a 1 s timeout and no answer: the next may only leave once the hub
    // gave up on it. A core that sent the device's whole queue at once would deliver the second
    // while the first is still unanswered.
    const ids: string[] = [];
    for (const [speed, timeout] of [
      [1, '1'],
      [2, '10'],
      [3, '10'],
    ] as const) {
      const r = await invoke('pump', 'fan.setSpeed', { speed }, { pendingTtl: '600', timeout });
      expect(r.code).toBe(0);
      ids.push(r.data.commandId);
    }
    const cancelled = await invoke('pump', 'fan.setSpeed', { speed: 4 }, { pendingTtl: '600' });
    expect(
      (await c.call('POST', '/connect-service/v2.1/commands', { action: 'cancel', orgId, commandId: cancelled.data.commandId })).code,
    ).toBe(0);
    expect((await getCmd(ids[0]!)).status).toBe('pending');

    // One timeline of what the device received and what the hub settled, in the order it happened.
    const timeline: string[] = [];
    const speedOf = new Map(ids.map((id, i) => [id, i + 1]));
    const lastSettled = new Promise<void>((resolve) => {
      const on = (r: { commandId: string; status: string }) => {
        const speed = speedOf.get(r.commandId);
        if (speed === undefined) return;
        timeline.push(`${speed}:${r.status}`);
        if (speed !== 3) return;
        h.hub.commands.off('status', on);
        resolve();
      };
      h.hub.commands.on('status', on);
    });
    behaviours.set('pump', (_t, msg) => {
      const speed = msg.params['speed']!;
      timeline.push(`${speed}:received`);
      return speed === 1 ? undefined : { applied: speed };
    });
    await loginAll(gw, ['pump']);
    await lastSettled;
    expect(timeline).toEqual(['1:received', '1:timeout', '2:received', '2:replied', '3:received', '3:replied']);
    expect((await getCmd(ids[0]!)).status).toBe('timeout');
    for (const id of ids.slice(1)) expect((await getCmd(id)).status).toBe('replied');
    expect((await getCmd(cancelled.data.commandId)).status).toBe('cancelled');
    // cancelling what has already been answered is refused
    expect((await c.call('POST', '/connect-service/v2.1/commands', { action: 'cancel', orgId, commandId: ids[1]! })).code).toBe(99400);
  });

  it('refuses the 51st cached command of a device with 11902', async () => {
    for (let i = 0; i < 50; i++) expect((await invoke('full', 'reboot', {}, { pendingTtl: '3600' })).code).toBe(0);
    expect((await invoke('full', 'reboot', {}, { pendingTtl: '3600' })).code).toBe(11902);
  });

  it('refuses bad commands with documented codes', async () => {
    expect(
      (
        await c.call(
          'POST',
          '/connect-service/v2.1/commands',
          { action: 'invokeService', orgId, productKey: subs.productKey, deviceKey: 'nobody', serviceId: 'reboot' },
          { inputData: {} },
        )
      ).code,
    ).toBe(11404);
    expect((await invoke('fan', 'no.such.service', {})).code).toBe(99400);
    expect((await invoke('fan', 'fan.setSpeed', { speed: 'fast' })).code).toBe(99400);
    expect((await invoke('fan', 'reboot', {}, { pendingTtl: '172801' })).code).toBe(99400);
    expect((await invoke('fan', 'reboot', {}, { timeout: '61' })).code).toBe(99400);
    expect((await invoke('fan', 'reboot', {}, { timeout: 'soon' })).code).toBe(99400);
    const huge = await c.call(
      'POST',
      '/connect-service/v2.1/commands',
      { action: 'invokeService', orgId, productKey: subs.productKey, deviceKey: 'fan', serviceId: 'reboot' },
      { inputData: { blob: 'x'.repeat(600_000) } },
    );
    expect([99400, 99413]).toContain(huge.code);
    expect((await c.call('GET', '/connect-service/v2.1/commands', { action: 'get', orgId, commandId: '123' })).code).toBe(99404);
    const other = await newTenant(h, 'other');
    const r = await invoke('fan', 'reboot', {}, { pendingTtl: '60' });
    expect(
      (await other.client.call('GET', '/connect-service/v2.1/commands', { action: 'get', orgId: other.orgId, commandId: r.data.commandId }))
        .code,
    ).toBe(99404);
  });
});
