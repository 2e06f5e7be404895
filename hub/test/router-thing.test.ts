/**
 * The device data handlers (docs/ENOS-PROTOCOL.md §4.1, §5.4), called directly with a real registry
 * over the embedded store. End-to-end over MQTT is covered elsewhere.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EnosError, topics, type StaticTopicKind } from '@edgehub/shared';
import { deviceKeyOf, SessionRegistry, type DeviceIdentity, type DeviceSession } from '../src/sessions/sessions.js';
import type { ProductRecord } from '../src/registry/records.js';
import { openRegistry, type Registry } from '../src/registry/registry.js';
import type { ThingModel } from '../src/registry/thing-model.js';
import type { RouterDeps } from '../src/router/context.js';
import { thingHandlers } from '../src/router/thing-handlers.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/port.js';
import type { IngestOptions, MeasurepointSample } from '../src/telemetry/ingest.js';
import { LatestValues } from './support/latest-values.js';

const ORG = 'o1000000000001';
const NOW = 1_700_000_000_000;

/** LatestValues that also remembers every measurepoint call, to prove what was (not) ingested. */
class RecordingIngest extends LatestValues {
  readonly calls: { assetId: string; points: Record<string, MeasurepointSample>; time: number; options: IngestOptions | undefined }[] = [];
  override async measurepoints(
    device: DeviceIdentity,
    points: Record<string, MeasurepointSample>,
    time: number,
    options?: IngestOptions,
  ): Promise<void> {
    this.calls.push({ assetId: device.assetId, points, time, options });
    return super.measurepoints(device, points, time);
  }
}

const gatewayModel: Partial<ThingModel> = {
  measurepoints: {
    temp: { dataType: 'FLOAT' },
    Power: { dataType: 'FLOAT', hasQuality: true },
    mode: { dataType: 'ENUM', enumValues: [0, 1, 2] },
    branchCurr: { dataType: 'ARRAY', itemType: { dataType: 'FLOAT' } },
  },
  attributes: {
    serial: { dataType: 'STRING', required: true },
    color: { dataType: 'STRING', maxLength: 16 },
    capacity: { dataType: 'FLOAT' },
  },
  events: { alarm: { eventType: 'WARN', outputData: { level: { dataType: 'INT' }, msg: { dataType: 'STRING' } } } },
  services: { reboot: { inputData: { delay: { dataType: 'INT' } }, outputData: {} } },
};
const subModel: Partial<ThingModel> = { measurepoints: { current: { dataType: 'FLOAT' }, voltage: { dataType: 'FLOAT' } } };

let dir: string;
let store: Store;
let registry: Registry;
let gwProduct: ProductRecord;
let subProduct: ProductRecord;
let freeProduct: ProductRecord;
let gw: DeviceIdentity;
let subOnline: DeviceIdentity;
let subOffline: DeviceIdentity;
let stranger: DeviceIdentity;
let free: DeviceIdentity;
let session: DeviceSession;
let ingest: RecordingIngest;
let deps: RouterDeps;

async function newDevice(product: ProductRecord, deviceAttributes?: Record<string, unknown>): Promise<DeviceIdentity> {
  const d = await registry.devices.create(
    ORG,
    { productKey: product.productKey, deviceName: { defaultValue: 'd' }, timezone: '+08:00', deviceAttributes },
    'test',
  );
  return { assetId: d.assetId, orgId: d.orgId, productKey: d.productKey, deviceKey: d.deviceKey, productType: d.productType };
}

function sessionOf(device: DeviceIdentity, subs: DeviceIdentity[] = []): DeviceSession {
  return {
    client: {} as never,
    device,
    listener: 'tcp',
    mutualTls: false,
    compression: 'none',
    secureMode: '2',
    connectedAt: NOW,
    subDevices: new Map(subs.map((s) => [deviceKeyOf(s.productKey, s.deviceKey), s])),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'router-thing-'));
  store = await openStore({ dataDir: dir });
  registry = await openRegistry(store);
  const product = (productType: 'Device' | 'Gateway', thingModel?: Partial<ThingModel>) =>
    registry.products.create(
      ORG,
      { productName: { defaultValue: 'p' }, productType, dataFormat: 'Json', biDirectionalAuth: false, thingModel },
      'test',
    );
  gwProduct = await product('Gateway', gatewayModel);
  subProduct = await product('Device', subModel);
  freeProduct = await product('Device');
  gw = await newDevice(gwProduct, { serial: 'SN-1' });
  subOnline = await newDevice(subProduct);
  subOffline = await newDevice(subProduct);
  stranger = await newDevice(subProduct);
  free = await newDevice(freeProduct);
  await registry.topology.addSubDevices(ORG, { assetId: gw.assetId }, [{ assetId: subOnline.assetId }, { assetId: subOffline.assetId }]);
});

afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  session = sessionOf(gw, [subOnline]);
  ingest = new RecordingIngest();
  deps = {
    registry,
    sessions: new SessionRegistry(),
    ingest,
    limits: { maxOnlineSubDevices: 200, maxRegisterBatch: 1000, maxAttributesPerRequest: 200 },
    log: pino({ level: 'silent' }),
    lifecycle: {
      login: async () => expect.fail('data handlers must not log sub-devices in'),
      logout: async () => expect.fail('data handlers must not log sub-devices out'),
    },
    clock: () => NOW,
  };
});

interface SendOptions {
  /** Top-level siblings of `params` (allowOfflineSubDevice, skipInvalidMeasurepoints). */
  extra?: Record<string, unknown>;
  session?: DeviceSession;
  eventId?: string;
}

/** Calls the handler for a request on `target`'s topic of this kind, as the router would. */
async function send(kind: StaticTopicKind | 'eventPost', target: DeviceIdentity, params: unknown, opts: SendOptions = {}) {
  const name =
    kind === 'eventPost'
      ? topics.eventPost(target.productKey, target.deviceKey, opts.eventId ?? 'alarm')
      : topics.build({ kind, pk: target.productKey, dk: target.deviceKey });
  const topic = topics.parse(name);
  if (!topic) throw new Error(`test bug: ${name} does not parse`);
  const handler = thingHandlers[topic.kind];
  if (!handler) throw new Error(`no handler for ${topic.kind}`);
  const request = { id: '7', version: '1.0', method: topic.method, params, ...opts.extra };
  return handler({ session: opts.session ?? session, topic, target, request }, deps);
}

/** The EnosError a request is refused with (fails the test if it is accepted or fails otherwise). */
async function refused(p: Promise<unknown>): Promise<EnosError> {
  const e = await p.then(
    () => expect.fail('expected the request to be refused'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(EnosError);
  return e as EnosError;
}

const record = async (d: DeviceIdentity) => (await registry.devices.find({ assetId: d.assetId }))!;

describe('thingHandlers', () => {
  it('covers every device data topic', () => {
    expect(Object.keys(thingHandlers).sort()).toEqual(
      [
        'measurepointPost',
        'measurepointPostBatch',
        'measurepointResume',
        'measurepointResumeBatch',
        'eventPost',
        'attributeUpdate',
        'attributeQuery',
        'attributeDelete',
        'tagUpdate',
        'tagQuery',
        'tagDelete',
        'tslTemplateGet',
        'connectionStatePost',
      ].sort(),
    );
  });
});

describe('thing.measurepoint.post', () => {
  it('accepts typed values, a quality and arrays, at the reported time', async () => {
    const reply = await send('measurepointPost', gw, {
      measurepoints: { temp: 1.02, Power: { value: 1.0, quality: 9 }, mode: 2, branchCurr: ['1.02', '2.02'] },
      time: 1524448722000,
    });
    expect(reply).toEqual({ data: {} });
    expect(ingest.latest(gw.assetId)?.measurepoints).toEqual({
      temp: { value: 1.02, time: 1524448722000 },
      Power: { value: 1.0, quality: 9, time: 1524448722000 },
      mode: { value: 2, time: 1524448722000 },
      branchCurr: { value: ['1.02', '2.02'], time: 1524448722000 },
    });
    expect(ingest.calls[0]?.options).toEqual({ resume: false, hubTime: false });
  });

  it('stamps a reading without time with the server clock', async () => {
    await send('measurepointPost', gw, { measurepoints: { temp: 3 } });
    expect(ingest.latest(gw.assetId)?.measurepoints['temp']).toEqual({ value: 3, time: NOW });
  });

  it('accepts a plain value for a point that has a quality, and a one-digit quality string', async () => {
    await send('measurepointPost', gw, { measurepoints: { Power: 5, temp: 1 } });
    await send('measurepointPost', gw, { measurepoints: { Power: { value: 6, quality: '3' } }, time: NOW + 1 });
    expect(ingest.latest(gw.assetId)?.measurepoints['Power']).toEqual({ value: 6, quality: 3, time: NOW + 1 });
  });

  it('refuses a point the thing model does not declare, naming it', async () => {
    const e = await refused(send('measurepointPost', gw, { measurepoints: { temp: 1, humidity: 40 } }));
    expect(e.code).toBe(1204);
    expect(e.message).toContain('humidity');
    expect(ingest.calls).toEqual([]);
  });

  it('refuses a value of the wrong type, naming the point', async () => {
    const e = await refused(send('measurepointPost', gw, { measurepoints: { temp: 'hot' } }));
    expect(e.code).toBe(1204);
    expect(e.message).toContain('temp');
    expect((await refused(send('measurepointPost', gw, { measurepoints: { mode: 7 } }))).code).toBe(1204);
    expect((await refused(send('measurepointPost', gw, { measurepoints: { branchCurr: [1, 'x'] } }))).code).toBe(1204);
  });

  it.each([10, -1, 1.5, '10', null, 'good'])('refuses quality %j (integer 0–9 only)', async (quality) => {
    const e = await refused(send('measurepointPost', gw, { measurepoints: { Power: { value: 1, quality } } }));
    expect(e.code).toBe(1204);
    expect(e.message).toContain('Power.quality');
    expect(ingest.calls).toEqual([]);
  });

  it('refuses {value, quality} for a point without hasQuality', async () => {
    const e = await refused(send('measurepointPost', gw, { measurepoints: { temp: { value: 1, quality: 9 } } }));
    expect(e.code).toBe(1204);
    expect(e.message).toContain('temp');
  });

  it('validates a sub-device against its own product, not the gateway’s', async () => {
    await send('measurepointPost', subOnline, { measurepoints: { current: 2.5 } });
    expect(ingest.latest(subOnline.assetId)?.measurepoints['current']?.value).toBe(2.5);
    expect((await refused(send('measurepointPost', subOnline, { measurepoints: { temp: 1 } }))).code).toBe(1204);
  });

  it('accepts any point, with or without quality, when the model declares no measurepoints', async () => {
    const own = sessionOf(free);
    await send(
      'measurepointPost',
      free,
      { measurepoints: { anything: 'x', other: { value: 2, quality: 0 }, nested: { a: 1 } } },
      { session: own },
    );
    expect(ingest.latest(free.assetId)?.measurepoints).toEqual({
      anything: { value: 'x', time: NOW },
      other: { value: 2, quality: 0, time: NOW },
      nested: { value: { a: 1 }, time: NOW },
    });
    // Schema-less is not lawless: the quality range still holds.
    expect(
      (await refused(send('measurepointPost', free, { measurepoints: { q: { value: 1, quality: 11 } } }, { session: own }))).code,
    ).toBe(1204);
  });

  it.each([
    ['params is not an object', [1]],
    ['measurepoints is missing', { time: NOW }],
    ['measurepoints is an array', { measurepoints: [1] }],
    ['time is a string', { measurepoints: { temp: 1 }, time: 'yesterday' }],
    ['time is negative', { measurepoints: { temp: 1 }, time: -5 }],
  ])('refuses a malformed request with 1220 when %s', async (_why, params) => {
    const e = await refused(send('measurepointPost', gw, params));
    expect(e.code).toBe(1220);
    expect(e.message).toMatch(/params/);
  });

  it('marks a post without its own time as stamped by the hub (kept beside same-millisecond posts)', async () => {
    await send('measurepointPost', gw, { measurepoints: { temp: 1 } });
    expect(ingest.calls[0]?.options).toEqual({ resume: false, hubTime: true });
  });

  it('accepts an empty measurepoints object without ingesting anything (the Java SDK starts from one)', async () => {
    expect(await send('measurepointPost', gw, { measurepoints: {} })).toEqual({ data: {} });
    expect(ingest.calls).toEqual([]);
  });

  it('checks against the changed thing model right after a product update, with records cached (one node)', async () => {
    // The registry of a single hub process keeps product records in memory, and the prepared model
    // checks with them (registry/compiled-model.ts): an update must reach the very next post.
    const cached = await openRegistry(store, undefined, { cacheRecords: true });
    const p = await cached.products.create(
      ORG,
      {
        productName: { defaultValue: 'p' },
        productType: 'Device',
        dataFormat: 'Json',
        biDirectionalAuth: false,
        thingModel: { measurepoints: { level: { dataType: 'INT' } } },
      },
      'test',
    );
    const d = await cached.devices.create(ORG, { productKey: p.productKey, deviceName: { defaultValue: 'd' }, timezone: '+08:00' }, 'test');
    const target: DeviceIdentity = {
      assetId: d.assetId,
      orgId: ORG,
      productKey: d.productKey,
      deviceKey: d.deviceKey,
      productType: 'Device',
    };
    deps = { ...deps, registry: cached };
    expect(await send('measurepointPost', target, { measurepoints: { level: 3 } }, { session: sessionOf(target) })).toEqual({ data: {} });
    expect(
      (await refused(send('measurepointPost', target, { measurepoints: { level: 'high' } }, { session: sessionOf(target) }))).code,
    ).toBe(1204);

    await cached.products.update(
      ORG,
      p.productKey,
      { thingModel: { measurepoints: { level: { dataType: 'STRING', maxLength: 8 } } } },
      'test',
    );
    expect(await send('measurepointPost', target, { measurepoints: { level: 'high' } }, { session: sessionOf(target) })).toEqual({
      data: {},
    });
    const e = await refused(send('measurepointPost', target, { measurepoints: { level: 3 } }, { session: sessionOf(target) }));
    expect(e.code).toBe(1204);
    expect(e.message).toContain('params.measurepoints.level must be a string');
    expect(
      (await refused(send('measurepointPost', target, { measurepoints: { level: 'x'.repeat(9) } }, { session: sessionOf(target) }))).code,
    ).toBe(1204);
  });
});

describe('thing.measurepoint.resume', () => {
  it('ingests as resumed data and never replaces a newer latest value', async () => {
    await send('measurepointPost', gw, { measurepoints: { temp: 20 }, time: 2000 });
    await send('measurepointResume', gw, { measurepoints: { temp: 10, mode: 1 }, time: 1000 });
    expect(ingest.calls[1]?.options).toEqual({ resume: true, hubTime: false });
    expect(ingest.latest(gw.assetId)?.measurepoints['temp']).toEqual({ value: 20, time: 2000 });
    expect(ingest.latest(gw.assetId)?.measurepoints['mode']).toEqual({ value: 1, time: 1000 });
  });

  it('checks the model like post does', async () => {
    expect((await refused(send('measurepointResume', gw, { measurepoints: { nope: 1 }, time: 1000 }))).code).toBe(1204);
  });
});

describe('thing.measurepoint.post.batch', () => {
  const keysOf = (d: DeviceIdentity) => ({ productKey: d.productKey, deviceKey: d.deviceKey });

  it('ingests the gateway itself and its logged-in sub-devices, each at its own time', async () => {
    const reply = await send('measurepointPostBatch', gw, [
      { measurepoints: { temp: 1 }, time: 100 },
      { ...keysOf(subOnline), measurepoints: { current: 2 }, time: 200 },
      { ...keysOf(gw), measurepoints: { mode: 0 } },
    ]);
    expect(reply).toEqual({ data: {} });
    expect(ingest.calls.map((c) => [c.assetId, c.time, c.options?.resume])).toEqual([
      [gw.assetId, 100, false],
      [subOnline.assetId, 200, false],
      [gw.assetId, NOW, false],
    ]);
  });

  it('is all or nothing: a bad second entry refuses the whole request', async () => {
    const e = await refused(
      send('measurepointPostBatch', gw, [{ measurepoints: { temp: 1 } }, { ...keysOf(subOnline), measurepoints: { current: 'high' } }]),
    );
    expect(e.code).toBe(1204);
    expect(e.message).toContain('params[1].measurepoints.current');
    expect(ingest.calls).toEqual([]);
    expect(ingest.latest(gw.assetId)).toBeUndefined();
  });

  it('refuses the whole request with 1212 for a sub-device that is not logged in', async () => {
    for (const sub of [subOffline, stranger]) {
      const e = await refused(
        send('measurepointPostBatch', gw, [{ measurepoints: { temp: 1 } }, { ...keysOf(sub), measurepoints: { current: 1 } }]),
      );
      expect(e.code).toBe(1212);
      expect(e.message).toContain(sub.deviceKey);
    }
    expect(ingest.calls).toEqual([]);
  });

  it('returns the first error in entry order', async () => {
    const badPoint = { measurepoints: { nope: 1 } };
    const notLoggedIn = { ...keysOf(subOffline), measurepoints: { current: 1 } };
    expect((await refused(send('measurepointPostBatch', gw, [badPoint, notLoggedIn]))).code).toBe(1204);
    expect((await refused(send('measurepointPostBatch', gw, [notLoggedIn, badPoint]))).code).toBe(1212);
  });

  it('with allowOfflineSubDevice accepts a topology sub-device that is not logged in, and nobody else', async () => {
    await send('measurepointPostBatch', gw, [{ ...keysOf(subOffline), measurepoints: { current: 4 } }], {
      extra: { allowOfflineSubDevice: true },
    });
    expect(ingest.latest(subOffline.assetId)?.measurepoints['current']?.value).toBe(4);

    const e = await refused(
      send('measurepointPostBatch', gw, [{ ...keysOf(stranger), measurepoints: { current: 4 } }], {
        extra: { allowOfflineSubDevice: true },
      }),
    );
    expect(e.code).toBe(1212);
    expect(ingest.latest(stranger.assetId)).toBeUndefined();
  });

  it('with allowOfflineSubDevice still validates the sub-device against its product', async () => {
    const e = await refused(
      send('measurepointPostBatch', gw, [{ ...keysOf(subOffline), measurepoints: { temp: 4 } }], {
        extra: { allowOfflineSubDevice: true },
      }),
    );
    expect(e.code).toBe(1204);
  });

  it('with skipInvalidMeasurepoints drops invalid points, accepts the rest and lists what it dropped in the reply', async () => {
    const reply = await send(
      'measurepointPostBatch',
      gw,
      [
        { measurepoints: { temp: 1, unknown: 2, Power: { value: 1, quality: 12 } } },
        { ...keysOf(subOnline), measurepoints: { current: 'bad', voltage: 230 } },
        { ...keysOf(subOnline), measurepoints: { current: 'still bad' } },
      ],
      { extra: { skipInvalidMeasurepoints: true } },
    );
    expect(ingest.latest(gw.assetId)?.measurepoints).toEqual({ temp: { value: 1, time: NOW } });
    expect(ingest.latest(subOnline.assetId)?.measurepoints).toEqual({ voltage: { value: 230, time: NOW } });
    expect(ingest.calls).toHaveLength(2);
    // the sender learns which readings were dropped, per entry, so it can keep them aside
    const skipped = (
      reply as { data: { skipped: { index: number; deviceKey: string; time: number; measurepoints: string[]; reasons: string[] }[] } }
    ).data.skipped;
    expect(skipped.map(({ index, deviceKey, time, measurepoints }) => ({ index, deviceKey, time, measurepoints }))).toEqual([
      { index: 0, deviceKey: gw.deviceKey, time: NOW, measurepoints: ['unknown', 'Power'] },
      { index: 1, deviceKey: subOnline.deviceKey, time: NOW, measurepoints: ['current'] },
      { index: 2, deviceKey: subOnline.deviceKey, time: NOW, measurepoints: ['current'] },
    ]);
    expect(skipped[1]!.reasons[0]).toMatch(/current/);
    // nothing dropped: the reply is EnOS's empty object
    expect(
      await send('measurepointPostBatch', gw, [{ measurepoints: { temp: 2 } }], { extra: { skipInvalidMeasurepoints: true } }),
    ).toEqual({ data: {} });
  });

  it('with skipInvalidMeasurepoints still refuses a sub-device it may not write', async () => {
    const e = await refused(
      send('measurepointPostBatch', gw, [{ measurepoints: { temp: 1 } }, { ...keysOf(stranger), measurepoints: { current: 1 } }], {
        extra: { skipInvalidMeasurepoints: true },
      }),
    );
    expect(e.code).toBe(1212);
    expect(ingest.calls).toEqual([]);
  });

  it('refuses params that are not an array with 1220 and more than 1000 entries with 1204', async () => {
    expect((await refused(send('measurepointPostBatch', gw, { measurepoints: { temp: 1 } }))).code).toBe(1220);
    const many = Array.from({ length: 1001 }, () => ({ measurepoints: { temp: 1 } }));
    expect((await refused(send('measurepointPostBatch', gw, many))).code).toBe(1204);
    expect(await send('measurepointPostBatch', gw, many.slice(1))).toEqual({ data: {} });
  });

  it.each([
    ['an entry is not an object', ['x']],
    ['productKey comes without deviceKey', [{ productKey: 'abc', measurepoints: { current: 1 } }]],
    ['deviceKey is a number', [{ productKey: 'abc', deviceKey: 5, measurepoints: { current: 1 } }]],
    ['measurepoints is missing', [{ time: 1 }]],
  ])('refuses a malformed entry with 1220 when %s', async (_why, params) => {
    const e = await refused(send('measurepointPostBatch', gw, params));
    expect(e.code).toBe(1220);
    expect(e.message).toContain('params[0]');
  });

  it('refuses a flag that is not a boolean', async () => {
    const e = await refused(send('measurepointPostBatch', gw, [], { extra: { allowOfflineSubDevice: 'yes' } }));
    expect(e.code).toBe(1220);
    expect(e.message).toContain('allowOfflineSubDevice');
  });

  it('lets a plain device batch for itself only', async () => {
    const own = sessionOf(free);
    await send('measurepointPostBatch', free, [{ measurepoints: { x: 1 } }, { ...keysOf(free), measurepoints: { y: 2 } }], {
      session: own,
    });
    expect(Object.keys(ingest.latest(free.assetId)?.measurepoints ?? {}).sort()).toEqual(['x', 'y']);
    expect(
      (await refused(send('measurepointPostBatch', free, [{ ...keysOf(gw), measurepoints: { temp: 1 } }], { session: own }))).code,
    ).toBe(1212);
  });
});

describe('thing.measurepoint.resume.batch', () => {
  it('ingests as resumed data with the same checks as post/batch', async () => {
    await send('measurepointPost', subOnline, { measurepoints: { current: 9 }, time: 5000 });
    await send('measurepointResumeBatch', gw, [
      { productKey: subOnline.productKey, deviceKey: subOnline.deviceKey, measurepoints: { current: 1 }, time: 10 },
    ]);
    expect(ingest.calls[1]?.options).toEqual({ resume: true, hubTime: false });
    expect(ingest.latest(subOnline.assetId)?.measurepoints['current']).toEqual({ value: 9, time: 5000 });
    const e = await refused(
      send('measurepointResumeBatch', gw, [
        { productKey: subOffline.productKey, deviceKey: subOffline.deviceKey, measurepoints: { current: 1 } },
      ]),
    );
    expect(e.code).toBe(1212);
  });
});

describe('thing.event.{eventId}.post', () => {
  it('accepts a declared event with its output parameters, quality included', async () => {
    const reply = await send(
      'eventPost',
      gw,
      { events: { level: 3, msg: { value: 'overheat', quality: 9 } }, time: 42 },
      { eventId: 'alarm' },
    );
    expect(reply).toEqual({ data: {} });
    expect(ingest.latest(gw.assetId)?.events['alarm']).toEqual({ values: { level: 3, msg: { value: 'overheat', quality: 9 } }, time: 42 });
  });

  it('accepts `values` in place of `events`, and prefers `events` when both are sent', async () => {
    await send('eventPost', gw, { values: { level: 1 } }, { eventId: 'alarm' });
    expect(ingest.latest(gw.assetId)?.events['alarm']).toEqual({ values: { level: 1 }, time: NOW });
    await send('eventPost', gw, { events: { level: 2 }, values: { level: 'ignored' } }, { eventId: 'alarm' });
    expect(ingest.latest(gw.assetId)?.events['alarm']?.values).toEqual({ level: 2 });
  });

  it('refuses an event the model does not declare, an unknown parameter and a wrong type with 1204', async () => {
    const unknownEvent = await refused(send('eventPost', gw, { events: { level: 1 } }, { eventId: 'fire' }));
    expect(unknownEvent.code).toBe(1204);
    expect(unknownEvent.message).toContain('fire');
    const unknownParam = await refused(send('eventPost', gw, { events: { level: 1, colour: 'red' } }, { eventId: 'alarm' }));
    expect(unknownParam.code).toBe(1204);
    expect(unknownParam.message).toContain('colour');
    expect((await refused(send('eventPost', gw, { events: { level: 'high' } }, { eventId: 'alarm' }))).code).toBe(1204);
    expect((await refused(send('eventPost', gw, { events: { level: { value: 1, quality: 10 } } }, { eventId: 'alarm' }))).code).toBe(1204);
    expect(ingest.latest(gw.assetId)).toBeUndefined();
  });

  it('accepts any event when the model declares none', async () => {
    await send('eventPost', free, { events: { whatever: [1, 2] } }, { eventId: 'boot', session: sessionOf(free) });
    expect(ingest.latest(free.assetId)?.events['boot']?.values).toEqual({ whatever: [1, 2] });
  });

  it('refuses params without events with 1220', async () => {
    expect((await refused(send('eventPost', gw, { time: 1 }, { eventId: 'alarm' }))).code).toBe(1220);
    expect((await refused(send('eventPost', gw, { events: [1] }, { eventId: 'alarm' }))).code).toBe(1220);
  });
});

describe('thing.attribute.*', () => {
  it('update, query and delete round-trip through the registry', async () => {
    const dev = await newDevice(gwProduct, { serial: 'SN-2' });
    expect(await send('attributeUpdate', dev, { attributes: { color: 'red', capacity: 3.5 } })).toEqual({ data: {} });
    expect((await record(dev)).deviceAttributes).toEqual({ serial: 'SN-2', color: 'red', capacity: 3.5 });

    await send('attributeUpdate', dev, { attributes: { color: 'blue' } });
    expect((await record(dev)).deviceAttributes).toEqual({ serial: 'SN-2', color: 'blue', capacity: 3.5 });

    expect(await send('attributeQuery', dev, { attributes: ['color'] })).toEqual({ data: { color: 'blue' } });
    expect(await send('attributeQuery', dev, { attributes: [] })).toEqual({ data: { serial: 'SN-2', color: 'blue', capacity: 3.5 } });

    expect(await send('attributeDelete', dev, { attributes: ['color'] })).toEqual({ data: {} });
    expect((await record(dev)).deviceAttributes).toEqual({ serial: 'SN-2', capacity: 3.5 });
    // A declared attribute without a value is left out of the answer.
    expect(await send('attributeQuery', dev, { attributes: ['color', 'capacity'] })).toEqual({ data: { capacity: 3.5 } });
  });

  it('refuses an undeclared attribute or a wrong type with 1204 and stores nothing', async () => {
    const dev = await newDevice(gwProduct, { serial: 'SN-3' });
    const undeclared = await refused(send('attributeUpdate', dev, { attributes: { weight: 3 } }));
    expect(undeclared.code).toBe(1204);
    expect(undeclared.message).toContain('weight');
    expect((await refused(send('attributeUpdate', dev, { attributes: { capacity: 'big' } }))).code).toBe(1204);
    expect((await refused(send('attributeUpdate', dev, { attributes: { color: 'x'.repeat(17) } }))).code).toBe(1204);
    expect((await record(dev)).deviceAttributes).toEqual({ serial: 'SN-3' });
  });

  it('refuses more attributes than the limit with 1207', async () => {
    deps.limits.maxAttributesPerRequest = 2;
    const e = await refused(send('attributeUpdate', gw, { attributes: { serial: 'a', color: 'b', capacity: 1 } }));
    expect(e.code).toBe(1207);
    expect((await record(gw)).deviceAttributes).toEqual({ serial: 'SN-1' });
  });

  it('refuses a query for an attribute the model does not declare with 1208', async () => {
    const e = await refused(send('attributeQuery', gw, { attributes: ['serial', 'weight'] }));
    expect(e.code).toBe(1208);
    expect(e.message).toContain('weight');
  });

  it('refuses deleting a required attribute, or nothing, with 1209', async () => {
    const dev = await newDevice(gwProduct, { serial: 'SN-4', color: 'red' });
    const e = await refused(send('attributeDelete', dev, { attributes: ['serial', 'color'] }));
    expect(e.code).toBe(1209);
    expect(e.message).toContain('serial');
    expect((await record(dev)).deviceAttributes).toEqual({ serial: 'SN-4', color: 'red' });
    expect((await refused(send('attributeDelete', dev, { attributes: [] }))).code).toBe(1209);
  });

  it('refuses malformed params with 1220', async () => {
    expect((await refused(send('attributeUpdate', gw, { attributes: ['color'] }))).code).toBe(1220);
    expect((await refused(send('attributeQuery', gw, { attributes: 'color' }))).code).toBe(1220);
    expect((await refused(send('attributeDelete', gw, { attributes: [1] }))).code).toBe(1220);
  });
});

describe('thing.tag.*', () => {
  const tags = (entries: Record<string, string>) => Object.entries(entries).map(([tagKey, tagValue]) => ({ tagKey, tagValue }));

  it('update, query and delete round-trip through the registry', async () => {
    const dev = await newDevice(subProduct);
    expect(await send('tagUpdate', dev, tags({ Temperature: '36.8', site: 'north', 'rest-style/key': 'v' }))).toEqual({ data: {} });
    await send('tagUpdate', dev, tags({ site: 'south' }));
    expect((await record(dev)).deviceTags).toEqual({ Temperature: '36.8', site: 'south', 'rest-style/key': 'v' });

    expect(await send('tagQuery', dev, { tags: ['site', 'missing'] })).toEqual({ data: { site: 'south' } });
    expect(await send('tagQuery', dev, { tags: [] })).toEqual({ data: { Temperature: '36.8', site: 'south', 'rest-style/key': 'v' } });

    expect(await send('tagDelete', dev, { tags: ['Temperature', 'missing'] })).toEqual({ data: {} });
    expect((await record(dev)).deviceTags).toEqual({ site: 'south', 'rest-style/key': 'v' });
  });

  it.each([
    ['a key with a space', [{ tagKey: 'bad key', tagValue: 'v' }]],
    ['a key of 101 characters', [{ tagKey: 'k'.repeat(101), tagValue: 'v' }]],
    ['an empty key', [{ tagKey: '', tagValue: 'v' }]],
    ['a value of 201 characters', [{ tagKey: 'k', tagValue: 'v'.repeat(201) }]],
    [
      'the same key twice',
      [
        { tagKey: 'k', tagValue: 'a' },
        { tagKey: 'k', tagValue: 'b' },
      ],
    ],
  ])('refuses %s with 1204', async (_why, params) => {
    const dev = await newDevice(subProduct);
    expect((await refused(send('tagUpdate', dev, params))).code).toBe(1204);
    expect((await record(dev)).deviceTags).toEqual({});
  });

  it('accepts the longest key and value', async () => {
    const dev = await newDevice(subProduct);
    await send('tagUpdate', dev, [{ tagKey: 'k'.repeat(100), tagValue: 'v'.repeat(200) }]);
    expect(Object.keys((await record(dev)).deviceTags)).toEqual(['k'.repeat(100)]);
  });

  it('refuses more tags per request than the limit', async () => {
    const dev = await newDevice(subProduct);
    const many = Array.from({ length: 201 }, (_, i) => ({ tagKey: `t${i}`, tagValue: 'v' }));
    expect((await refused(send('tagUpdate', dev, many))).code).toBe(1204);
  });

  it('refuses to grow a device beyond 100 tags', async () => {
    const dev = await newDevice(subProduct);
    const first = Array.from({ length: 99 }, (_, i) => ({ tagKey: `t${i}`, tagValue: 'v' }));
    await send('tagUpdate', dev, first);
    const e = await refused(
      send('tagUpdate', dev, [
        { tagKey: 'x', tagValue: '1' },
        { tagKey: 'y', tagValue: '2' },
      ]),
    );
    expect(e.code).toBe(1204);
    expect(Object.keys((await record(dev)).deviceTags)).toHaveLength(99);
    // Overwriting existing keys does not count twice.
    await send('tagUpdate', dev, [
      { tagKey: 't0', tagValue: 'w' },
      { tagKey: 'x', tagValue: '1' },
    ]);
    expect(Object.keys((await record(dev)).deviceTags)).toHaveLength(100);
  });

  it('refuses malformed params with 1220 and an empty delete with 1204', async () => {
    expect((await refused(send('tagUpdate', gw, { tagKey: 'a', tagValue: 'b' }))).code).toBe(1220);
    expect((await refused(send('tagUpdate', gw, [{ tagKey: 'a', tagValue: 1 }]))).code).toBe(1220);
    expect((await refused(send('tagQuery', gw, { tags: 'a' }))).code).toBe(1220);
    expect((await refused(send('tagDelete', gw, { tags: [] }))).code).toBe(1204);
  });
});

describe('thing.tsltemplate.get', () => {
  it('returns the product’s thing model, each spec with its identifier', async () => {
    const reply = await send('tslTemplateGet', gw, {});
    expect(reply.data).toEqual({
      tslAttributeMap: {
        serial: { identifier: 'serial', dataType: 'STRING', required: true },
        color: { identifier: 'color', dataType: 'STRING', maxLength: 16 },
        capacity: { identifier: 'capacity', dataType: 'FLOAT' },
      },
      tslMeasurepointMap: {
        temp: { identifier: 'temp', dataType: 'FLOAT' },
        Power: { identifier: 'Power', dataType: 'FLOAT', hasQuality: true },
        mode: { identifier: 'mode', dataType: 'ENUM', enumValues: [0, 1, 2] },
        branchCurr: { identifier: 'branchCurr', dataType: 'ARRAY', itemType: { dataType: 'FLOAT' } },
      },
      tslEventMap: {
        alarm: { identifier: 'alarm', eventType: 'WARN', outputData: { level: { dataType: 'INT' }, msg: { dataType: 'STRING' } } },
      },
      tslServiceMap: { reboot: { identifier: 'reboot', inputData: { delay: { dataType: 'INT' } }, outputData: {} } },
    });
  });

  it('answers a sub-device with its own product and a schema-less product with empty maps', async () => {
    const sub = await send('tslTemplateGet', subOnline, {});
    expect(Object.keys((sub.data as { tslMeasurepointMap: object }).tslMeasurepointMap)).toEqual(['current', 'voltage']);
    const none = await send('tslTemplateGet', free, {}, { session: sessionOf(free) });
    expect(none.data).toEqual({ tslAttributeMap: {}, tslMeasurepointMap: {}, tslEventMap: {}, tslServiceMap: {} });
  });
});

describe('connection.state.post', () => {
  const report = {
    isFull: true,
    nodes: [
      { nodeId: 'plc-1', state: 1, assetId: 'A1', name: 'PLC 1', info: 'ok' },
      { nodeId: 'plc-2', state: 2 },
      { nodeId: 'meter', state: 3 },
    ],
    relations: { 'plc-1': ['meter'] },
    reportTime: 1234,
  };

  it('hands a valid report to the ingest at its report time', async () => {
    expect(await send('connectionStatePost', gw, report)).toEqual({ data: {} });
    expect(ingest.latest(gw.assetId)?.connectionState).toEqual({ state: report, time: 1234 });
  });

  it('accepts a partial report with the empty relations the Java SDK always sends', async () => {
    await send('connectionStatePost', gw, { isFull: false, nodes: [{ nodeId: 'n', state: 2 }], relations: {} });
    expect(ingest.latest(gw.assetId)?.connectionState?.time).toBe(NOW);
  });

  it.each([
    ['a state outside 1–3', { ...report, nodes: [{ nodeId: 'n', state: 4 }] }],
    [
      'a duplicate node',
      {
        ...report,
        nodes: [
          { nodeId: 'n', state: 1 },
          { nodeId: 'n', state: 2 },
        ],
      },
    ],
    ['relations in a partial report', { ...report, isFull: false }],
    ['more than 2000 nodes', { ...report, nodes: Array.from({ length: 2001 }, (_, i) => ({ nodeId: `n${i}`, state: 1 })) }],
  ])('refuses %s with 1204', async (_why, params) => {
    expect((await refused(send('connectionStatePost', gw, params))).code).toBe(1204);
    expect(ingest.latest(gw.assetId)).toBeUndefined();
  });

  it.each([
    ['isFull missing', { nodes: [] }],
    ['nodes missing', { isFull: true }],
    ['a node without nodeId', { isFull: true, nodes: [{ state: 1 }] }],
    ['a state as a string', { isFull: true, nodes: [{ nodeId: 'n', state: '1' }] }],
    ['info as an object', { isFull: true, nodes: [{ nodeId: 'n', state: 1, info: {} }] }],
    ['relations children not strings', { isFull: true, nodes: [], relations: { a: [1] } }],
  ])('refuses %s with 1220', async (_why, params) => {
    const e = await refused(send('connectionStatePost', gw, params));
    expect(e.code).toBe(1220);
    expect(e.message).toContain('params.');
  });
});
