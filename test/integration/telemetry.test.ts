import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';
import {
  connectDevice,
  newTenant,
  provision,
  startHub,
  subDeviceSign,
  type ProvisionedDevice,
  type ProvisionedProduct,
  type RunningHub,
  type TestDevice,
} from '../src/index.js';

type Latest = {
  assetId: string;
  productKey: string;
  deviceKey: string;
  measurepoints: Record<string, { value: unknown; quality?: number; time: number }>;
}[];
type Item = { measurepoint: string; time: number; value: unknown; quality?: number; resume?: boolean };
type History = { items: Item[]; nextCursor: string | null };

const T = 1_700_000_000_000;

/**
 * Telemetry through a real hub: a gateway posts and resumes data for its sub-device over MQTT;
 * an application reads it back with queryLatest and queryHistory over the signed REST API.
 */
describe('telemetry: measurepoints from a sub-device, read back over REST', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let gwp: ProvisionedProduct;
  let subs: ProvisionedProduct;
  let inverter: ProvisionedDevice;
  let meter: ProvisionedDevice;
  let gw: TestDevice;

  const latest = (body: unknown, client = c, org = orgId) =>
    client.call<Latest>('POST', '/connect-service/v2.1/measurepoints', { action: 'queryLatest', orgId: org }, body);
  const history = (ref: Record<string, string>, body: unknown, client = c, org = orgId) =>
    client.call<History>('POST', '/connect-service/v2.1/measurepoints', { action: 'queryHistory', orgId: org, ...ref }, body);

  beforeAll(async () => {
    h = await startHub();
    ({ client: c, orgId } = await newTenant(h, 'solar'));
    gwp = await provision(c, orgId, { productType: 'Gateway', deviceKeys: ['edge'] });
    subs = await provision(c, orgId, {
      productType: 'Device',
      deviceKeys: ['inverter', 'meter'],
      product: {
        thingModel: {
          measurepoints: { power: { dataType: 'DOUBLE', hasQuality: true }, speed: { dataType: 'INT' }, energy: { dataType: 'DOUBLE' } },
          events: { overheat: { outputData: { temp: { dataType: 'DOUBLE' } } } },
        },
      },
    });
    [inverter, meter] = subs.devices as [ProvisionedDevice, ProvisionedDevice];

    // The gateway adds its sub-devices and logs them in (docs/ENOS-PROTOCOL.md §5.1, §5.3).
    const g = gwp.devices[0]!;
    gw = await connectDevice(h.mqttUrl, g);
    const ts = Date.now();
    const topo = await gw.request(
      topics.topoAdd(g.productKey, g.deviceKey),
      'thing.topo.add',
      subs.devices.map((s) => ({
        productKey: s.productKey,
        deviceKey: s.deviceKey,
        clientId: s.deviceKey,
        timestamp: ts,
        signMethod: 'sha256',
        sign: subDeviceSign(s.deviceKey, s, ts),
      })),
    );
    expect(topo.code).toBe(200);
    const bts = String(Date.now());
    const login = await gw.request(topics.combineLoginBatch(g.productKey, g.deviceKey), 'combine.login.batch', {
      clientId: g.productKey,
      timestamp: bts,
      signMethod: 'sha256',
      subDevices: subs.devices.map((s) => ({
        productKey: s.productKey,
        deviceKey: s.deviceKey,
        sign: subDeviceSign(g.productKey, s, bts),
      })),
    });
    expect(login.code).toBe(200);

    // Live data, then older data resumed after an outage (thing.measurepoint.resume).
    const post = (d: ProvisionedDevice, measurepoints: Record<string, unknown>, time: number) =>
      gw.request(topics.measurepointPost(d.productKey, d.deviceKey), 'thing.measurepoint.post', { measurepoints, time });
    expect((await post(inverter, { power: { value: 4.2, quality: 9 }, speed: 1200 }, T + 1000)).code).toBe(200);
    expect((await post(inverter, { power: { value: 5.1, quality: 8 } }, T + 2000)).code).toBe(200);
    expect((await post(meter, { energy: 77.5 }, T + 1500)).code).toBe(200);
    const resumed = await gw.request(topics.measurepointResume(inverter.productKey, inverter.deviceKey), 'thing.measurepoint.resume', {
      measurepoints: { power: { value: 3.3, quality: 1 } },
      time: T,
    });
    expect(resumed.code).toBe(200);
    const event = await gw.request(topics.eventPost(inverter.productKey, inverter.deviceKey, 'overheat'), 'thing.event.overheat.post', {
      events: { temp: 91.5 },
      time: T + 1500,
    });
    expect(event.code).toBe(200);
  });
  afterAll(async () => {
    await gw?.end();
    await h?.close();
  });

  it('answers queryLatest by assetId and by productKey + deviceKey, and keeps the newer value over resumed data', async () => {
    const r = await latest({ assetIds: [inverter.assetId], devices: [{ productKey: meter.productKey, deviceKey: meter.deviceKey }] });
    expect(r.code).toBe(0);
    expect(r.data).toEqual([
      {
        assetId: inverter.assetId,
        productKey: inverter.productKey,
        deviceKey: 'inverter',
        measurepoints: { power: { value: 5.1, quality: 8, time: T + 2000 }, speed: { value: 1200, time: T + 1000 } },
      },
      {
        assetId: meter.assetId,
        productKey: meter.productKey,
        deviceKey: 'meter',
        measurepoints: { energy: { value: 77.5, time: T + 1500 } },
      },
    ]);
    // only the named measurepoints, and each device once
    const some = await latest({
      assetIds: [inverter.assetId, inverter.assetId],
      devices: [{ productKey: inverter.productKey, deviceKey: 'inverter' }],
      measurepoints: ['speed'],
    });
    expect(some.data).toEqual([
      {
        assetId: inverter.assetId,
        productKey: inverter.productKey,
        deviceKey: 'inverter',
        measurepoints: { speed: { value: 1200, time: T + 1000 } },
      },
    ]);
    // the ingest the broker uses holds the same, events and all
    const mine = await h.hub.telemetry.latest(inverter.assetId);
    expect(mine?.measurepoints['power']).toEqual({ value: 5.1, quality: 8, time: T + 2000 });
    expect(mine?.events['overheat']).toEqual({ values: { temp: 91.5 }, time: T + 1500 });
  });

  it('answers queryHistory with the resumed data in its place, by assetId or by keys, in both orders', async () => {
    const range = { startTime: T, endTime: T + 3000 };
    const asc = await history({ assetId: inverter.assetId }, { measurepoints: ['power', 'speed'], ...range });
    expect(asc.code).toBe(0);
    expect(asc.data).toEqual({
      items: [
        { measurepoint: 'power', time: T, value: 3.3, quality: 1, resume: true },
        { measurepoint: 'power', time: T + 1000, value: 4.2, quality: 9 },
        { measurepoint: 'speed', time: T + 1000, value: 1200 },
        { measurepoint: 'power', time: T + 2000, value: 5.1, quality: 8 },
      ],
      nextCursor: null,
    });
    const desc = await history(
      { productKey: inverter.productKey, deviceKey: 'inverter' },
      { measurepoints: ['power'], ...range, order: 'DESC' },
    );
    expect(desc.data.items.map((i) => i.value)).toEqual([5.1, 4.2, 3.3]);
    // ISO 8601 times with a zone are read as the same instants; endTime is exclusive
    const iso = await history(
      { assetId: inverter.assetId },
      { measurepoints: ['power'], startTime: new Date(T).toISOString(), endTime: new Date(T + 2000).toISOString() },
    );
    expect(iso.data.items.map((i) => i.time)).toEqual([T, T + 1000]);
  });

  it('pages queryHistory with the cursor until nextCursor is null', async () => {
    const body = { measurepoints: ['power', 'speed'], startTime: T, endTime: T + 3000, pageSize: 1 };
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await history({ assetId: inverter.assetId }, cursor ? { ...body, cursor } : body);
      expect(page.code).toBe(0);
      expect(page.data.items.length).toBe(1);
      seen.push(...page.data.items.map((i) => `${i.measurepoint}@${i.time - T}`));
      cursor = page.data.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['power@0', 'power@1000', 'speed@1000', 'power@2000']);
  });

  it("does not show one org's devices to another org's application (11404)", async () => {
    const other = await newTenant(h, 'other');
    const r = await latest({ assetIds: [inverter.assetId] }, other.client, other.orgId);
    expect(r).toMatchObject({ code: 11404, data: null });
    expect(r.msg).toContain('assetIds[0]');
    const byKeys = await latest({ devices: [{ productKey: inverter.productKey, deviceKey: 'inverter' }] }, other.client, other.orgId);
    expect(byKeys.code).toBe(11404);
    const hist = await history(
      { assetId: inverter.assetId },
      { measurepoints: ['power'], startTime: T, endTime: T + 3000 },
      other.client,
      other.orgId,
    );
    expect(hist).toMatchObject({ code: 11404, data: null });
    // and the other org cannot read through its own orgId by naming ours either (99403)
    const denied = await latest({ assetIds: [inverter.assetId] }, other.client, orgId);
    expect(denied.code).toBe(99403);
  });

  it("answers a list of devices read in one registry call, but never with another org's device among its own (11404 naming it)", async () => {
    const other = await newTenant(h, 'other-fleet');
    const own = await provision(other.client, other.orgId, { productType: 'Device', deviceKeys: ['a', 'b'] });
    const [a, b] = own.devices as [ProvisionedDevice, ProvisionedDevice];
    // Its own devices, one named twice and one by keys: each once, in the order first asked.
    const mine = await latest(
      { assetIds: [b.assetId, a.assetId, b.assetId], devices: [{ productKey: a.productKey, deviceKey: 'a' }] },
      other.client,
      other.orgId,
    );
    expect(mine.code).toBe(0);
    expect(mine.data.map((d) => d.assetId)).toEqual([b.assetId, a.assetId]);
    // One of ours slipped into the list: nothing is answered, and the foreign entry is named.
    const mixed = await latest({ assetIds: [a.assetId, inverter.assetId, b.assetId] }, other.client, other.orgId);
    expect(mixed).toMatchObject({ code: 11404, data: null });
    expect(mixed.msg).toContain('assetIds[1]');
    const mixedKeys = await latest(
      { assetIds: [a.assetId], devices: [{ productKey: inverter.productKey, deviceKey: 'inverter' }] },
      other.client,
      other.orgId,
    );
    expect(mixedKeys).toMatchObject({ code: 11404, data: null });
    expect(mixedKeys.msg).toContain('devices[0]');
    const unknown = await latest({ assetIds: [a.assetId, 'no-such-asset'] }, other.client, other.orgId);
    expect(unknown.msg).toContain('assetIds[1]');
    // A deleted device is gone from the next answer (the hub holds the devices' org and keys in memory).
    await other.client.ok('POST', '/connect-service/v2.1/devices', { action: 'delete', orgId: other.orgId, assetId: b.assetId });
    const afterDelete = await latest({ assetIds: [a.assetId, b.assetId] }, other.client, other.orgId);
    expect(afterDelete).toMatchObject({ code: 11404, data: null });
    expect(afterDelete.msg).toContain('assetIds[1]');
  });

  it('refuses bad history queries with 99400 naming the field', async () => {
    const ref = { assetId: inverter.assetId };
    const cases: [unknown, RegExp][] = [
      [{ measurepoints: ['power'], startTime: T + 3000, endTime: T }, /endTime/],
      [{ measurepoints: ['power'], startTime: T, endTime: T }, /endTime/],
      [{ measurepoints: ['power'], endTime: T }, /startTime/],
      [{ measurepoints: ['power'], startTime: T, endTime: T + 32 * 24 * 3600_000 }, /endTime.*31 days/],
      [{ measurepoints: [], startTime: T, endTime: T + 1 }, /measurepoints/],
      [{ measurepoints: Array.from({ length: 51 }, (_, i) => `p${i}`), startTime: T, endTime: T + 1 }, /measurepoints/],
      [{ measurepoints: ['power'], startTime: '2024-05-01 08:00:00', endTime: T + 1 }, /startTime/],
      [{ measurepoints: ['power'], startTime: T, endTime: T + 1, pageSize: 1001 }, /pageSize/],
      [{ measurepoints: ['power'], startTime: T, endTime: T + 1, cursor: 'bogus' }, /cursor/],
    ];
    for (const [body, field] of cases) {
      const r = await history(ref, body);
      expect({ body, code: r.code }).toEqual({ body, code: 99400 });
      expect(r.msg).toMatch(field);
    }
    // a cursor is bound to its query
    const first = await history(ref, { measurepoints: ['power'], startTime: T, endTime: T + 3000, pageSize: 1 });
    const moved = await history(ref, { measurepoints: ['power'], startTime: T, endTime: T + 2500, cursor: first.data.nextCursor });
    expect(moved.code).toBe(99400);
    expect(moved.msg).toMatch(/cursor/);
    // no device, or no devices to look up
    expect((await history({}, { measurepoints: ['power'], startTime: T, endTime: T + 1 })).code).toBe(99400);
    expect((await latest({})).code).toBe(99400);
    expect((await latest({ assetIds: Array.from({ length: 201 }, (_, i) => `a${i}`) })).code).toBe(99400);
  });

  it("answers a device's past events (events queryHistory), newest first on request; another org gets 11404; bad ranges 99400", async () => {
    const events = (ref: Record<string, string>, body: unknown, client = c, org = orgId) =>
      client.call<{ items: { eventId: string; time: number; values: Record<string, unknown> }[]; nextCursor: string | null }>(
        'POST',
        '/connect-service/v2.1/events',
        { action: 'queryHistory', orgId: org, ...ref },
        body,
      );
    const again = await gw.request(topics.eventPost(inverter.productKey, inverter.deviceKey, 'overheat'), 'thing.event.overheat.post', {
      events: { temp: 95 },
      time: T + 2500,
    });
    expect(again.code).toBe(200);
    const r = await events({ assetId: inverter.assetId }, { events: ['overheat'], startTime: T, endTime: T + 3000, order: 'DESC' });
    expect(r.code).toBe(0);
    expect(r.data).toEqual({
      items: [
        { eventId: 'overheat', time: T + 2500, values: { temp: 95 } },
        { eventId: 'overheat', time: T + 1500, values: { temp: 91.5 } },
      ],
      nextCursor: null,
    });
    const byKeys = await events(
      { productKey: inverter.productKey, deviceKey: 'inverter' },
      { events: ['overheat'], startTime: T, endTime: T + 2000 },
    );
    expect(byKeys.data.items.map((e) => e.time)).toEqual([T + 1500]);
    const other = await newTenant(h, 'events-other');
    expect(
      (await events({ assetId: inverter.assetId }, { events: ['overheat'], startTime: T, endTime: T + 3000 }, other.client, other.orgId))
        .code,
    ).toBe(11404);
    const inverted = await events({ assetId: inverter.assetId }, { events: ['overheat'], startTime: T + 3000, endTime: T });
    expect(inverted.code).toBe(99400);
    expect(inverted.msg).toMatch(/endTime/);
    expect((await events({ assetId: inverter.assetId }, { events: [], startTime: T, endTime: T + 1 })).code).toBe(99400);
  });
});
