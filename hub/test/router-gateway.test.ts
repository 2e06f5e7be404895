/**
 * Gateway topics (docs/ENOS-PROTOCOL.md §4.4, §5) at handler level, over a real registry on a real
 * embedded store. Sessions are real DeviceSession objects whose client only records what is
 * published to it; the sub-device lifecycle is the broker's bookkeeping in miniature.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'aedes';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EnosError, topics, type StaticTopicKind } from '@edgehub/shared';
import { watchAdminChanges } from '../src/broker/admin-changes.js';
import { SessionRegistry, deviceKeyOf, type DeviceIdentity, type DeviceSession } from '../src/sessions/sessions.js';
import { openRegistry, type Registry } from '../src/registry/registry.js';
import type { DeviceRecord, ProductRecord } from '../src/registry/records.js';
import type { RouterDeps, SubDeviceLifecycle } from '../src/router/context.js';
import { registerCode } from '../src/router/device-register.js';
import { gatewayHandlers } from '../src/router/gateway-handlers.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/port.js';
import { LatestValues } from './support/latest-values.js';

type Algo = 'sha256' | 'sha1' | 'md5';

interface Published {
  topic: string;
  payload: Buffer;
  qos: number;
}

interface FakeClient {
  sent: Published[];
  closed: boolean;
  publish(packet: Published, cb: (err?: Error) => void): void;
  close(): void;
}

interface Reply {
  code: number;
  message?: string;
  data: unknown;
}

/** The broker's bookkeeping in miniature: a real SessionRegistry plus the registry status. */
class TestLifecycle implements SubDeviceLifecycle {
  constructor(
    private readonly sessions: SessionRegistry,
    private readonly registry: Registry,
  ) {}

  async login(gateway: DeviceSession, sub: DeviceIdentity): Promise<void> {
    this.sessions.loginSubDevice(gateway, sub);
    await this.registry.devices.markOnline(sub.assetId);
  }

  async logout(productKey: string, deviceKey: string): Promise<void> {
    const gw = this.sessions.logoutSubDevice(productKey, deviceKey);
    const d = await this.registry.devices.byTriple(productKey, deviceKey);
    if (gw && d) await this.registry.devices.markOffline(d.assetId);
  }
}

const silent = pino({ level: 'silent' });

let dir: string;
let store: Store;
let registry: Registry;
let orgId: string;
let otherOrgId: string;
let gwProduct: ProductRecord;
let subProduct: ProductRecord;
let certProduct: ProductRecord;
let dynProduct: ProductRecord;
let otherOrgSubProduct: ProductRecord;

let sessions: SessionRegistry;
let lifecycle: TestLifecycle;
let deps: RouterDeps;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'router-gateway-'));
  store = await openStore({ dataDir: dir });
  registry = await openRegistry(store, { maxDevicesPerProduct: 10_000, maxSubDevicesPerGateway: 1_500 });
  orgId = (await registry.organizations.create({ name: 'acme' })).orgId;
  otherOrgId = (await registry.organizations.create({ name: 'other' })).orgId;
  const product = (org: string, name: string, extra: Partial<Parameters<Registry['products']['create']>[1]> = {}) =>
    registry.products.create(
      org,
      { productName: { defaultValue: name }, productType: 'Device', dataFormat: 'Json', biDirectionalAuth: false, ...extra },
      'test',
    );
  gwProduct = await product(orgId, 'gateway', { productType: 'Gateway' });
  subProduct = await product(orgId, 'meter');
  certProduct = await product(orgId, 'cert-only meter', { biDirectionalAuth: true });
  dynProduct = await product(orgId, 'self-activating meter', { dynamicActivateEnabled: true });
  otherOrgSubProduct = await product(otherOrgId, 'foreign meter');
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  sessions = new SessionRegistry();
  lifecycle = new TestLifecycle(sessions, registry);
  deps = {
    registry,
    sessions,
    ingest: new LatestValues(),
    limits: { maxOnlineSubDevices: 200, maxRegisterBatch: 1000, maxAttributesPerRequest: 200 },
    log: silent,
    lifecycle,
    clock: () => Date.now(),
  };
});

// ------------------------------------------------------------------------------------------------
// fixtures

let serial = 0;

async function newDevice(product: ProductRecord, org = orgId): Promise<DeviceRecord> {
  serial += 1;
  return registry.devices.create(
    org,
    { productKey: product.productKey, deviceKey: `dev${serial}`, deviceName: { defaultValue: `device ${serial}` }, timezone: '+08:00' },
    'test',
  );
}

function fakeClient(): FakeClient {
  return {
    sent: [],
    closed: false,
    publish(packet, cb) {
      this.sent.push(packet);
      cb();
    },
    close() {
      this.closed = true;
    },
  };
}

/** A connected device: its registry record, its session (registered) and what it was sent. */
interface Connected {
  record: DeviceRecord;
  session: DeviceSession;
  client: FakeClient;
}

async function connect(product: ProductRecord = gwProduct, options: { mutualTls?: boolean } = {}): Promise<Connected> {
  const record = await newDevice(product);
  const client = fakeClient();
  const session: DeviceSession = {
    client: client as unknown as Client,
    device: identity(record),
    listener: options.mutualTls ? 'tls' : 'tcp',
    mutualTls: options.mutualTls ?? false,
    compression: 'none',
    secureMode: '2',
    connectedAt: Date.now(),
    subDevices: new Map(),
  };
  sessions.add(session);
  await registry.devices.markOnline(record.assetId);
  return { record, session, client };
}

function identity(d: DeviceRecord): DeviceIdentity {
  return { assetId: d.assetId, orgId: d.orgId, productKey: d.productKey, deviceKey: d.deviceKey, productType: d.productType };
}

/** Sub-devices in the gateway's topology (set up the REST way). */
async function subsOf(gw: Connected, n: number, product: ProductRecord = subProduct): Promise<DeviceRecord[]> {
  const subs: DeviceRecord[] = [];
  for (let i = 0; i < n; i++) subs.push(await newDevice(product));
  await registry.topology.addSubDevices(
    orgId,
    { assetId: gw.record.assetId },
    subs.map((s) => ({ assetId: s.assetId })),
  );
  return subs;
}

/** Written out from §5.1 rather than imported, so a wrong sign in the hub cannot agree with itself. */
function signOf(
  f: { clientId: string; productKey: string; deviceKey: string; timestamp: string | number },
  secret: string,
  algo: Algo = 'sha256',
): string {
  const content = `clientId${f.clientId}deviceKey${f.deviceKey}productKey${f.productKey}timestamp${String(f.timestamp)}${secret}`;
  return createHash(algo).update(content, 'utf8').digest('hex');
}

interface SignOptions {
  secret?: string;
  algo?: Algo;
  upper?: boolean;
  timestamp?: string | number;
  clientId?: string;
}

/** One signed sub-device entry the way the Java SDK sends it (§5.1, §5.2). */
function signed(sub: DeviceRecord, o: SignOptions = {}): Record<string, unknown> {
  const timestamp = o.timestamp ?? '1600000000000';
  const clientId = o.clientId ?? `${sub.productKey}.${sub.deviceKey}.${String(timestamp)}`;
  const sign = signOf({ clientId, productKey: sub.productKey, deviceKey: sub.deviceKey, timestamp }, o.secret ?? sub.deviceSecret, o.algo);
  return {
    productKey: sub.productKey,
    deviceKey: sub.deviceKey,
    clientId,
    timestamp,
    signMethod: o.algo ?? 'sha256',
    sign: o.upper ? sign.toUpperCase() : sign,
  };
}

/** Calls the handler for a topic of the session's own device and answers like the router would. */
async function call(kind: StaticTopicKind, from: Connected, params: unknown): Promise<Reply> {
  const { productKey: pk, deviceKey: dk } = from.session.device;
  const topic = topics.parse(topics.build({ kind, pk, dk }))!;
  const handler = gatewayHandlers[kind]!;
  try {
    const r = await handler(
      { session: from.session, topic, target: from.session.device, request: { id: '7', version: '1.0', method: topic.method, params } },
      deps,
    );
    const reply: Reply = { code: r.code ?? 200, data: r.data ?? {} };
    if (r.message !== undefined) reply.message = r.message;
    return reply;
  } catch (e) {
    if (!(e instanceof EnosError)) throw e;
    return { code: e.code, message: e.message, data: {} };
  }
}

async function reload(d: DeviceRecord): Promise<DeviceRecord> {
  return (await registry.devices.find({ assetId: d.assetId }))!;
}

function isLoggedIn(gw: Connected, sub: DeviceRecord): boolean {
  return (
    gw.session.subDevices.has(deviceKeyOf(sub.productKey, sub.deviceKey)) &&
    sessions.gatewayOf(sub.productKey, sub.deviceKey) === gw.session
  );
}

function decoded(p: Published): Record<string, unknown> {
  return JSON.parse(p.payload.toString('utf8')) as Record<string, unknown>;
}

// ------------------------------------------------------------------------------------------------

describe('thing.topo.add', () => {
  it.each([
    ['sha256', false],
    ['sha256', true],
    ['sha1', false],
    ['sha1', true],
    ['md5', false],
    ['md5', true],
  ] as const)('accepts a %s sign in %s-case hex', async (algo, upper) => {
    const gw = await connect();
    const sub = await newDevice(subProduct);
    const reply = await call('topoAdd', gw, [signed(sub, { algo, upper })]);
    expect(reply).toEqual({ code: 200, data: {} });
    expect((await reload(sub)).gatewayAssetId).toBe(gw.record.assetId);
  });

  it.each(['sha256', 'sha1', 'md5'] as const)('refuses a %s sign made with the wrong secret', async (algo) => {
    const gw = await connect();
    const sub = await newDevice(subProduct);
    const reply = await call('topoAdd', gw, [signed(sub, { algo, secret: 'not-the-secret' })]);
    expect(reply.code).toBe(1255);
    expect(reply.message).toBe(`add topo failure, ${sub.productKey}&${sub.deviceKey}: sign check failed`);
    expect((await reload(sub)).gatewayAssetId).toBeUndefined();
  });

  it('accepts the Node SDK form: clientId = deviceKey, a numeric timestamp signed as its digits', async () => {
    const gw = await connect();
    const sub = await newDevice(subProduct);
    const entry = signed(sub, { clientId: sub.deviceKey, timestamp: 1600000000123, upper: true });
    expect(typeof entry['timestamp']).toBe('number');
    expect(await call('topoAdd', gw, [entry])).toMatchObject({ code: 200 });
  });

  it('accepts the C form: lowercase `signmethod` key with an hmacSha256 label (a plain digest)', async () => {
    const gw = await connect();
    const sub = await newDevice(subProduct);
    const { signMethod: _, ...rest } = signed(sub, { upper: true });
    expect(await call('topoAdd', gw, [{ ...rest, signmethod: 'hmacSha256' }])).toMatchObject({ code: 200 });
  });

  it('accepts the documented 5-field sign that covers cleanSession', async () => {
    const gw = await connect();
    const sub = await newDevice(subProduct);
    const f = { clientId: 'c1', productKey: sub.productKey, deviceKey: sub.deviceKey, timestamp: '42' };
    const sign = createHash('sha1')
      .update(`cleanSessiontrueclientIdc1deviceKey${sub.deviceKey}productKey${sub.productKey}timestamp42${sub.deviceSecret}`)
      .digest('hex')
      .toUpperCase();
    expect(await call('topoAdd', gw, [{ ...f, cleanSession: 'true', signMethod: 'hmacsha1', sign }])).toMatchObject({ code: 200 });
  });

  it('is all or nothing: a bad sign in the middle binds none of the three', async () => {
    const gw = await connect();
    const [a, b, c] = [await newDevice(subProduct), await newDevice(subProduct), await newDevice(subProduct)];
    const reply = await call('topoAdd', gw, [signed(a), signed(b, { secret: 'wrong' }), signed(c)]);
    expect(reply.code).toBe(1255);
    expect(reply.message).toBe(`add topo failure, ${b.productKey}&${b.deviceKey}: sign check failed`);
    for (const d of [a, b, c]) expect((await reload(d)).gatewayAssetId).toBeUndefined();
  });

  it('refuses a sub-device of another gateway, a gateway, another org’s device, and a non-gateway caller', async () => {
    const gw = await connect();
    const rival = await connect();
    const [taken] = await subsOf(rival, 1);
    const otherGw = await newDevice(gwProduct);
    const foreign = await newDevice(otherOrgSubProduct, otherOrgId);

    expect(await call('topoAdd', gw, [signed(taken!)])).toMatchObject({
      code: 1255,
      message: `add topo failure, ${taken!.productKey}&${taken!.deviceKey}: sub-device belongs to another gateway`,
    });
    expect(await call('topoAdd', gw, [signed(otherGw)])).toMatchObject({ code: 1255, message: expect.stringContaining('is a gateway') });
    expect(await call('topoAdd', gw, [signed(foreign)])).toMatchObject({ code: 1255, message: expect.stringContaining('does not exist') });

    const plain = await connect(subProduct);
    const sub = await newDevice(subProduct);
    expect(await call('topoAdd', plain, [signed(sub)])).toMatchObject({ code: 1255, message: expect.stringContaining('is not a gateway') });
  });

  it('refuses malformed params with 1255 naming the field', async () => {
    const gw = await connect();
    const sub = await newDevice(subProduct);
    const { timestamp: _, ...noTimestamp } = signed(sub);
    expect(await call('topoAdd', gw, [noTimestamp])).toMatchObject({ code: 1255, message: expect.stringContaining('params[0].timestamp') });
    expect(await call('topoAdd', gw, { productKey: sub.productKey })).toMatchObject({
      code: 1255,
      message: expect.stringContaining('non-empty array'),
    });
    expect(await call('topoAdd', gw, [])).toMatchObject({ code: 1255 });
    expect(await call('topoAdd', gw, [{ ...signed(sub), signMethod: 'sha512' }])).toMatchObject({
      code: 1255,
      message: expect.stringContaining('unsupported signMethod sha512'),
    });
    expect(await call('topoAdd', gw, [{ ...signed(sub), sign: 123 }])).toMatchObject({
      code: 1255,
      message: expect.stringContaining('params[0].sign'),
    });
  });
});

describe('thing.topo.delete', () => {
  it('refuses to delete an online sub-device, and deletes it once logged out', async () => {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1);
    expect(await call('combineLogin', gw, signed(sub!))).toMatchObject({ code: 200 });

    const refused = await call('topoDelete', gw, [{ productKey: sub!.productKey, deviceKey: sub!.deviceKey }]);
    expect(refused.code).toBe(1256);
    expect(refused.message).toContain('online');
    expect((await reload(sub!)).gatewayAssetId).toBe(gw.record.assetId);

    expect(await call('combineLogout', gw, { productKey: sub!.productKey, deviceKey: sub!.deviceKey })).toMatchObject({ code: 200 });
    expect(await call('topoDelete', gw, [{ productKey: sub!.productKey, deviceKey: sub!.deviceKey }])).toEqual({ code: 200, data: {} });
    expect((await reload(sub!)).gatewayAssetId).toBeUndefined();
  });

  it('refuses a device that is not its sub-device, or does not exist, deleting nothing', async () => {
    const gw = await connect();
    const [mine] = await subsOf(gw, 1);
    const stranger = await newDevice(subProduct);
    const reply = await call('topoDelete', gw, [
      { productKey: mine!.productKey, deviceKey: mine!.deviceKey },
      { productKey: stranger.productKey, deviceKey: stranger.deviceKey },
    ]);
    expect(reply).toMatchObject({
      code: 1256,
      message: `delete topo failure, ${stranger.productKey}&${stranger.deviceKey}: not a sub-device of this gateway`,
    });
    expect((await reload(mine!)).gatewayAssetId).toBe(gw.record.assetId);
    expect(await call('topoDelete', gw, [{ productKey: 'nope', deviceKey: 'nope' }])).toMatchObject({
      code: 1256,
      message: expect.stringContaining('does not exist'),
    });
    expect(await call('topoDelete', gw, [{ productKey: 1 }])).toMatchObject({
      code: 1256,
      message: expect.stringContaining('params[0].productKey'),
    });
  });
});

describe('thing.topo.get', () => {
  it('lists every sub-device across pages of 200, without secrets', async () => {
    const gw = await connect();
    const bulk = await registry.products.create(
      orgId,
      { productName: { defaultValue: 'bulk' }, productType: 'Device', dataFormat: 'Json', biDirectionalAuth: false },
      'test',
    );
    const made = await registry.devices.batchCreate(
      orgId,
      Array.from({ length: 205 }, (_, i) => ({
        productKey: bulk.productKey,
        deviceKey: `bulk${i}`,
        deviceName: { defaultValue: `bulk ${i}` },
        timezone: '+08:00',
      })),
      'test',
    );
    await registry.topology.addSubDevices(
      orgId,
      { assetId: gw.record.assetId },
      made.map((r) => ({ assetId: r.data!.assetId })),
    );

    const reply = await call('topoGet', gw, {});
    expect(reply.code).toBe(200);
    const list = reply.data as Record<string, unknown>[];
    expect(list).toHaveLength(205);
    expect(new Set(list.map((e) => e['deviceKey'])).size).toBe(205);
    expect(list[0]).toMatchObject({
      productKey: bulk.productKey,
      assetId: expect.any(String),
      deviceName: expect.any(Object),
      status: 'inactive',
    });
    expect(list.some((e) => 'deviceSecret' in e)).toBe(false);
  });

  it('answers 1200 to a device that is not a gateway', async () => {
    const plain = await connect(subProduct);
    expect(await call('topoGet', plain, {})).toMatchObject({ code: 1200 });
  });
});

describe('thing.device.register', () => {
  it('creates devices in the gateway’s org and returns their secrets (plain-string name, default timezone)', async () => {
    const gw = await connect();
    const reply = await call('deviceRegister', gw, [
      { productKey: subProduct.productKey, deviceKey: 'reg-a', deviceName: 'plain name' },
      {
        productKey: subProduct.productKey,
        deviceName: { defaultValue: 'i18n', i18nValue: { en_US: 'i18n' } },
        timezone: 'Asia/Shanghai',
        deviceDesc: 'd',
      },
    ]);
    expect(reply.code).toBe(200);
    const data = reply.data as { assetId: string; productKey: string; deviceKey: string; deviceSecret: string }[];
    expect(data).toHaveLength(2);
    expect(data[0]).toMatchObject({ productKey: subProduct.productKey, deviceKey: 'reg-a', deviceSecret: expect.any(String) });
    const a = (await registry.devices.find({ assetId: data[0]!.assetId }))!;
    expect(a).toMatchObject({ orgId, deviceName: { defaultValue: 'plain name' }, timezone: '+08:00', deviceSecret: data[0]!.deviceSecret });
    expect(a.gatewayAssetId).toBeUndefined();
    const b = (await registry.devices.find({ assetId: data[1]!.assetId }))!;
    expect(b).toMatchObject({
      deviceName: { defaultValue: 'i18n', i18nValue: { en_US: 'i18n' } },
      timezone: 'Asia/Shanghai',
      deviceDesc: 'd',
    });
  });

  it('answers 702 for an existing deviceKey, naming the entry, and still lists what it created', async () => {
    const gw = await connect();
    const existing = await newDevice(subProduct);
    const reply = await call('deviceRegister', gw, [
      { productKey: subProduct.productKey, deviceKey: 'reg-ok-1', deviceName: 'ok' },
      { productKey: subProduct.productKey, deviceKey: existing.deviceKey, deviceName: 'dup' },
    ]);
    expect(reply.code).toBe(702);
    expect(reply.message).toContain(`params[1] ${subProduct.productKey}&${existing.deviceKey}`);
    expect(reply.data).toEqual([expect.objectContaining({ deviceKey: 'reg-ok-1' })]);
  });

  it('answers 739 when the product is full', async () => {
    const tight = await openRegistry(store, { maxDevicesPerProduct: 1, maxSubDevicesPerGateway: 10 });
    const small = await tight.products.create(
      orgId,
      { productName: { defaultValue: 'small' }, productType: 'Device', dataFormat: 'Json', biDirectionalAuth: false },
      'test',
    );
    const gw = await connect();
    deps = { ...deps, registry: tight };
    const reply = await call('deviceRegister', gw, [
      { productKey: small.productKey, deviceName: 'first' },
      { productKey: small.productKey, deviceName: 'second' },
    ]);
    expect(reply.code).toBe(739);
    expect(reply.data).toHaveLength(1);
  });

  it('answers 1204 for attributes outside the thing model and 11611 for a product outside the org', async () => {
    const gw = await connect();
    expect(
      await call('deviceRegister', gw, [{ productKey: subProduct.productKey, deviceName: 'x', deviceAttributes: { color: 'red' } }]),
    ).toMatchObject({ code: 1204, data: [] });
    expect(await call('deviceRegister', gw, [{ productKey: otherOrgSubProduct.productKey, deviceName: 'x' }])).toMatchObject({
      code: 11611,
      data: [],
    });
  });

  it('maps the registry codes to the documented ones', () => {
    expect([11702, 11714, 11739, 99400, 11611].map(registerCode)).toEqual([702, 714, 739, 1204, 11611]);
  });

  it('refuses malformed or oversized requests before creating anything, and non-gateways', async () => {
    const gw = await connect();
    deps.limits.maxRegisterBatch = 2;
    const three = [1, 2, 3].map((i) => ({ productKey: subProduct.productKey, deviceName: `n${i}` }));
    expect(await call('deviceRegister', gw, three)).toMatchObject({ code: 1220, message: expect.stringContaining('at most 2') });
    expect(
      await call('deviceRegister', gw, [
        { productKey: subProduct.productKey, deviceKey: 'fine', deviceName: 'a' },
        { productKey: subProduct.productKey },
      ]),
    ).toMatchObject({
      code: 1220,
      message: expect.stringContaining('params[1].deviceName'),
    });
    expect(await registry.devices.byTriple(subProduct.productKey, 'fine')).toBeUndefined();
    expect(await call('deviceRegister', gw, [{ productKey: subProduct.productKey, deviceKey: 'a/b', deviceName: 'a' }])).toMatchObject({
      code: 1220,
    });
    expect(
      await call('deviceRegister', gw, [{ productKey: subProduct.productKey, deviceName: 'a', timezone: 'not a zone' }]),
    ).toMatchObject({ code: 1220 });

    const plain = await connect(subProduct);
    expect(await call('deviceRegister', plain, [{ productKey: subProduct.productKey, deviceName: 'a' }])).toMatchObject({ code: 1200 });
  });
});

describe('combine.login', () => {
  it('logs in a sub-device the Node SDK way (no secureMode, numeric timestamp, uppercase hex)', async () => {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1);
    const reply = await call('combineLogin', gw, signed(sub!, { clientId: sub!.deviceKey, timestamp: 1600000000000, upper: true }));
    expect(reply).toEqual({ code: 200, data: { productKey: sub!.productKey, deviceKey: sub!.deviceKey, assetId: sub!.assetId } });
    expect(isLoggedIn(gw, sub!)).toBe(true);
    expect((await reload(sub!)).status).toBe('online');
  });

  it.each(['sha1', 'md5'] as const)('accepts %s with secureMode "2" and cleanSession "true" (Java)', async (algo) => {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1);
    expect(await call('combineLogin', gw, { ...signed(sub!, { algo }), secureMode: '2', cleanSession: 'true' })).toMatchObject({
      code: 200,
    });
  });

  it('705: the sub-device does not exist, or belongs to another org', async () => {
    const gw = await connect();
    const foreign = await newDevice(otherOrgSubProduct, otherOrgId);
    expect(await call('combineLogin', gw, { ...signed(foreign), deviceKey: 'missing' })).toMatchObject({ code: 705 });
    expect(await call('combineLogin', gw, signed(foreign))).toMatchObject({ code: 705 });
  });

  it('723: the sub-device is disabled', async () => {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1);
    await registry.devices.disable(orgId, { assetId: sub!.assetId });
    expect(await call('combineLogin', gw, signed(sub!))).toMatchObject({ code: 723 });
    expect(isLoggedIn(gw, sub!)).toBe(false);
  });

  it('746: a certificate-only product needs a mutual-TLS gateway', async () => {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1, certProduct);
    expect(await call('combineLogin', gw, signed(sub!))).toMatchObject({ code: 746 });

    const tlsGw = await connect(gwProduct, { mutualTls: true });
    const [tlsSub] = await subsOf(tlsGw, 1, certProduct);
    expect(await call('combineLogin', tlsGw, signed(tlsSub!))).toMatchObject({ code: 200 });
  });

  it('770: secureMode 3 for a product without dynamic activation', async () => {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1);
    expect(await call('combineLogin', gw, { ...signed(sub!, { secret: subProduct.productSecret }), secureMode: 3 })).toMatchObject({
      code: 770,
    });
  });

  it('secureMode 3 activates with the productSecret and returns the deviceSecret; a second time is 770', async () => {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1, dynProduct);
    const byProduct = { ...signed(sub!, { secret: dynProduct.productSecret }), secureMode: '3' };
    const reply = await call('combineLogin', gw, byProduct);
    expect(reply).toEqual({
      code: 200,
      data: { productKey: sub!.productKey, deviceKey: sub!.deviceKey, assetId: sub!.assetId, deviceSecret: sub!.deviceSecret },
    });
    expect((await reload(sub!)).activeTime).toEqual(expect.any(Number));

    expect(await call('combineLogin', gw, byProduct)).toMatchObject({ code: 770 });
    // Activated: it logs in with its own secret, and the reply carries no secret.
    expect((await call('combineLogin', gw, signed(sub!))).data).not.toHaveProperty('deviceSecret');
  });

  it('740: the sub-device is not in this gateway’s topology (not even for secureMode 3)', async () => {
    const gw = await connect();
    const loose = await newDevice(subProduct);
    expect(await call('combineLogin', gw, signed(loose))).toMatchObject({ code: 740 });
    const looseDyn = await newDevice(dynProduct);
    expect(await call('combineLogin', gw, { ...signed(looseDyn, { secret: dynProduct.productSecret }), secureMode: 3 })).toMatchObject({
      code: 740,
    });
    expect(await call('combineLogin', gw, signed(gw.record))).toMatchObject({ code: 740 });
  });

  it('742: a wrong sign, the productSecret in secureMode 2, or an unknown sign method', async () => {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1, dynProduct);
    expect(await call('combineLogin', gw, signed(sub!, { secret: 'wrong' }))).toMatchObject({ code: 742, message: 'Sign check failed' });
    expect(await call('combineLogin', gw, signed(sub!, { secret: dynProduct.productSecret }))).toMatchObject({ code: 742 });
    expect(await call('combineLogin', gw, { ...signed(sub!), signMethod: 'sha384' })).toMatchObject({ code: 742 });
    const entry = signed(sub!);
    expect(await call('combineLogin', gw, { ...entry, timestamp: '1600000000001' })).toMatchObject({ code: 742 });
    expect(isLoggedIn(gw, sub!)).toBe(false);
  });

  it('428: refuses beyond the online cap, but a sub-device already online may log in again', async () => {
    const gw = await connect();
    deps.limits.maxOnlineSubDevices = 2;
    const subs = await subsOf(gw, 3);
    expect(await call('combineLogin', gw, signed(subs[0]!))).toMatchObject({ code: 200 });
    expect(await call('combineLogin', gw, signed(subs[1]!))).toMatchObject({ code: 200 });
    expect(await call('combineLogin', gw, signed(subs[2]!))).toMatchObject({
      code: 428,
      message: expect.stringContaining('too many online sub-devices'),
    });
    expect(await call('combineLogin', gw, signed(subs[0]!))).toMatchObject({ code: 200 });
    expect(gw.session.subDevices.size).toBe(2);
  });

  it('checks in the documented order: disabled (723) before topology (740) before sign (742)', async () => {
    const gw = await connect();
    const loose = await newDevice(subProduct);
    await registry.devices.disable(orgId, { assetId: loose.assetId });
    expect(await call('combineLogin', gw, signed(loose, { secret: 'wrong' }))).toMatchObject({ code: 723 });
    const loose2 = await newDevice(subProduct);
    expect(await call('combineLogin', gw, signed(loose2, { secret: 'wrong' }))).toMatchObject({ code: 740 });
  });

  it('refuses malformed params with 1220, and non-gateways with 1200', async () => {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1);
    expect(await call('combineLogin', gw, { ...signed(sub!), secureMode: 5 })).toMatchObject({
      code: 1220,
      message: expect.stringContaining('secureMode'),
    });
    const { sign: _, ...unsigned } = signed(sub!);
    expect(await call('combineLogin', gw, unsigned)).toMatchObject({ code: 1220, message: expect.stringContaining('params.sign') });
    expect(await call('combineLogin', gw, [signed(sub!)])).toMatchObject({ code: 1220 });
    expect(await call('combineLogin', gw, { ...signed(sub!), timestamp: { t: 1 } })).toMatchObject({ code: 1220 });
    const plain = await connect(subProduct);
    expect(await call('combineLogin', plain, signed(sub!))).toMatchObject({ code: 1200 });
  });
});

describe('combine.login.batch', () => {
  /** §5.3: shared clientId and timestamp, one sign per sub-device. */
  function batch(gw: Connected, entries: { sub: DeviceRecord; secret?: string; secureMode?: unknown }[], clientId = gw.record.productKey) {
    const timestamp = '1564988853275';
    return {
      clientId,
      timestamp,
      signMethod: 'sha256',
      subDevices: entries.map(({ sub, secret, secureMode }) => ({
        productKey: sub.productKey,
        deviceKey: sub.deviceKey,
        sign: signOf({ clientId, productKey: sub.productKey, deviceKey: sub.deviceKey, timestamp }, secret ?? sub.deviceSecret),
        ...(secureMode === undefined ? {} : { secureMode }),
      })),
    };
  }

  it('logs in the Node SDK’s reconnect batch (clientId = gateway productKey, secureMode the number 2)', async () => {
    const gw = await connect();
    const subs = await subsOf(gw, 3);
    const reply = await call(
      'combineLoginBatch',
      gw,
      batch(
        gw,
        subs.map((sub) => ({ sub, secureMode: 2 })),
      ),
    );
    expect(reply.code).toBe(200);
    expect(reply.data).toEqual({
      loginedSubDevices: subs.map((s) => ({ assetId: s.assetId, productKey: s.productKey, deviceKey: s.deviceKey })),
      failedSubDevices: [],
    });
    for (const s of subs) expect(isLoggedIn(gw, s)).toBe(true);
  });

  it('reports a partial failure: first code, one "<pk>&<dk> has error: …;" per failure, both lists', async () => {
    const gw = await connect();
    const [ok, disabled, badSign] = await subsOf(gw, 3);
    await registry.devices.disable(orgId, { assetId: disabled!.assetId });
    const reply = await call(
      'combineLoginBatch',
      gw,
      batch(gw, [{ sub: ok! }, { sub: disabled!, secureMode: '2' }, { sub: badSign!, secret: 'wrong' }]),
    );
    expect(reply.code).toBe(723);
    expect(reply.message).toBe(
      `${disabled!.productKey}&${disabled!.deviceKey} has error: Device is disable;${badSign!.productKey}&${badSign!.deviceKey} has error: Sign check failed;`,
    );
    expect(reply.data).toEqual({
      loginedSubDevices: [{ assetId: ok!.assetId, productKey: ok!.productKey, deviceKey: ok!.deviceKey }],
      failedSubDevices: [
        { productKey: disabled!.productKey, deviceKey: disabled!.deviceKey },
        { productKey: badSign!.productKey, deviceKey: badSign!.deviceKey },
      ],
    });
    expect(isLoggedIn(gw, ok!)).toBe(true);
    expect(isLoggedIn(gw, badSign!)).toBe(false);
  });

  it('returns the secret of a sub-device it activated (secureMode 3)', async () => {
    const gw = await connect();
    const [dyn] = await subsOf(gw, 1, dynProduct);
    const reply = await call('combineLoginBatch', gw, batch(gw, [{ sub: dyn!, secret: dynProduct.productSecret, secureMode: '3' }]));
    expect(reply.data).toEqual({
      loginedSubDevices: [
        { assetId: dyn!.assetId, productKey: dyn!.productKey, deviceKey: dyn!.deviceKey, deviceSecret: dyn!.deviceSecret },
      ],
      failedSubDevices: [],
    });
  });

  it('answers a format error with 1220 and both lists empty, logging nobody in', async () => {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1);
    const good = batch(gw, [{ sub: sub! }]);
    for (const params of [
      { ...good, subDevices: 'x' },
      { ...good, clientId: 3 },
      { ...good, subDevices: [...good.subDevices, { productKey: 'p' }] },
      null,
    ]) {
      const reply = await call('combineLoginBatch', gw, params);
      expect(reply).toMatchObject({ code: 1220, data: { loginedSubDevices: [], failedSubDevices: [] } });
    }
    expect(isLoggedIn(gw, sub!)).toBe(false);
  });
});

describe('combine.logout', () => {
  it('logs out its own sub-device; a sub-device not logged in anywhere is fine; another gateway’s is 1212', async () => {
    const gw = await connect();
    const [sub, idle] = await subsOf(gw, 2);
    await call('combineLogin', gw, signed(sub!));
    const keys = { productKey: sub!.productKey, deviceKey: sub!.deviceKey };
    expect(await call('combineLogout', gw, keys)).toEqual({ code: 200, data: keys });
    expect(isLoggedIn(gw, sub!)).toBe(false);
    expect((await reload(sub!)).status).toBe('offline');
    expect(await call('combineLogout', gw, { productKey: idle!.productKey, deviceKey: idle!.deviceKey })).toMatchObject({ code: 200 });

    const other = await connect();
    const [theirs] = await subsOf(other, 1);
    await call('combineLogin', other, signed(theirs!));
    expect(await call('combineLogout', gw, { productKey: theirs!.productKey, deviceKey: theirs!.deviceKey })).toMatchObject({ code: 1212 });
    expect(isLoggedIn(other, theirs!)).toBe(true);
    expect(await call('combineLogout', gw, { productKey: theirs!.productKey })).toMatchObject({ code: 1220 });
  });
});

describe('administrator changes', () => {
  let stop: () => void;
  afterEach(() => stop?.());

  async function loggedIn(): Promise<{ gw: Connected; sub: DeviceRecord }> {
    const gw = await connect();
    const [sub] = await subsOf(gw, 1);
    expect(await call('combineLogin', gw, signed(sub!))).toMatchObject({ code: 200 });
    return { gw, sub: sub! };
  }

  it('disable: pushes combine.disable to the gateway and logs the sub-device out', async () => {
    stop = watchAdminChanges({ registry, sessions, lifecycle, log: silent });
    const { gw, sub } = await loggedIn();
    await registry.devices.disable(orgId, { assetId: sub.assetId });
    await vi.waitFor(() => expect(isLoggedIn(gw, sub)).toBe(false));
    expect(gw.client.sent).toHaveLength(1);
    const p = gw.client.sent[0]!;
    expect(p.topic).toBe(topics.combineDisable(gw.record.productKey, gw.record.deviceKey));
    expect(p.topic).toBe(`/ext/session/${gw.record.productKey}/${gw.record.deviceKey}/combine/disable`);
    expect(p.qos).toBe(1);
    const body = decoded(p);
    expect(body).toMatchObject({
      version: '1.0',
      method: 'combine.disable',
      params: [{ productKey: sub.productKey, deviceKey: sub.deviceKey }],
    });
    // Never a small counter the SDK may have used for its own requests (§12).
    expect(body['id']).toMatch(/^\d{19}$/);
    expect(sessions.gatewayOf(sub.productKey, sub.deviceKey)).toBeUndefined();
    expect(gw.client.closed).toBe(false);
  });

  it('delete: pushes combine.delete and logs the sub-device out', async () => {
    stop = watchAdminChanges({ registry, sessions, lifecycle, log: silent });
    const { gw, sub } = await loggedIn();
    await registry.devices.delete(orgId, { assetId: sub.assetId });
    await vi.waitFor(() => expect(isLoggedIn(gw, sub)).toBe(false));
    expect(gw.client.sent.map((p) => p.topic)).toEqual([topics.combineDelete(gw.record.productKey, gw.record.deviceKey)]);
    expect(decoded(gw.client.sent[0]!)).toMatchObject({
      method: 'combine.delete',
      params: [{ productKey: sub.productKey, deviceKey: sub.deviceKey }],
    });
  });

  it('disable or delete of a directly connected device closes its connection', async () => {
    stop = watchAdminChanges({ registry, sessions, lifecycle, log: silent });
    const a = await connect(subProduct);
    const b = await connect(subProduct);
    await registry.devices.disable(orgId, { assetId: a.record.assetId });
    await registry.devices.delete(orgId, { assetId: b.record.assetId });
    await vi.waitFor(() => expect([a.client.closed, b.client.closed]).toEqual([true, true]));
    expect(a.client.sent).toHaveLength(0);
  });

  it('enable: pushes combine.enable to the online gateway of the sub-device', async () => {
    stop = watchAdminChanges({ registry, sessions, lifecycle, log: silent });
    const gw = await connect();
    const [sub] = await subsOf(gw, 1);
    await registry.devices.disable(orgId, { assetId: sub!.assetId });
    await registry.devices.enable(orgId, { assetId: sub!.assetId });
    await vi.waitFor(() => expect(gw.client.sent).toHaveLength(1));
    expect(gw.client.sent[0]!.topic).toBe(topics.combineEnable(gw.record.productKey, gw.record.deviceKey));
    expect(decoded(gw.client.sent[0]!)).toMatchObject({
      method: 'combine.enable',
      params: [{ productKey: sub!.productKey, deviceKey: sub!.deviceKey }],
    });
  });

  it('a sub-device removed from the topology is logged out of that gateway', async () => {
    stop = watchAdminChanges({ registry, sessions, lifecycle, log: silent });
    const { gw, sub } = await loggedIn();
    await registry.topology.removeSubDevices(orgId, { assetId: gw.record.assetId }, [{ assetId: sub.assetId }]);
    await vi.waitFor(async () => {
      expect(isLoggedIn(gw, sub)).toBe(false);
      expect((await reload(sub)).status).toBe('offline');
    });
  });

  it('logs a failure instead of throwing into the emitter, and stops when unsubscribed', async () => {
    const errors: unknown[] = [];
    const log = { error: (o: unknown) => errors.push(o), debug: () => {}, info: () => {}, warn: () => {} } as unknown as Logger;
    const broken: SubDeviceLifecycle = { login: (g, s) => lifecycle.login(g, s), logout: () => Promise.reject(new Error('store down')) };
    stop = watchAdminChanges({ registry, sessions, lifecycle: broken, log });
    const { gw, sub } = await loggedIn();
    await registry.devices.disable(orgId, { assetId: sub.assetId });
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toMatchObject({ event: 'deviceDisabled' });

    stop();
    await registry.devices.enable(orgId, { assetId: sub.assetId });
    await new Promise((r) => setTimeout(r, 20));
    expect(gw.client.sent.map((p) => decoded(p)['method'])).toEqual(['combine.disable']);
  });
});
