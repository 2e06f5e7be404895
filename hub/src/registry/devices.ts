import { EnosError, codes } from '@edgehub/shared';
import { DuplicateKeyError, type Collection, type Filter, type FindOptions } from '../store/port.js';
import type { RegistryEventBus } from './events.js';
import { DeviceIdentities, type DeviceIdentity } from './device-lookup.js';
import { newAssetId, newDeviceKey, newDeviceSecret } from './ids.js';
import { deepFreeze } from './deep-freeze.js';
import { RecordCache } from './record-cache.js';
import { StatusCommits, defaultStatusCommits, type StatusCommitOptions } from './status-commits.js';
import type { DeviceRecord, DeviceStatus, ProductRecord, StringI18n } from './records.js';
import { checkValue, type ThingModel } from './thing-model.js';
import { requireKnownTimezone } from './timezone.js';

/** A device is addressed by assetId or by productKey + deviceKey (docs/ENOS-PROTOCOL.md §7.3). */
export type DeviceRef = { assetId: string } | { productKey: string; deviceKey: string };

export interface NewDevice {
  productKey: string;
  deviceKey?: string;
  deviceName: StringI18n;
  deviceDesc?: string;
  timezone: string;
  deviceAttributes?: Record<string, unknown>;
  deviceTags?: Record<string, string>;
}

export interface DeviceUpdate {
  deviceName?: StringI18n;
  deviceDesc?: string;
  timezone?: string;
  deviceAttributes?: Record<string, unknown>;
  deviceTags?: Record<string, string>;
}

export interface CreatedDevice {
  assetId: string;
  productKey: string;
  deviceKey: string;
  deviceSecret: string;
}

export type BatchItemResult = { code: 0; msg: string; data: CreatedDevice } | { code: number; msg: string; data: null };

export interface DeviceLimits {
  /** EnOS: 10,000 devices per product (11739). */
  maxDevicesPerProduct: number;
}

const KEY_ATTEMPTS = 5;
/** Entries of the triple → assetId memo before it starts over (about 100 bytes each). */
const TRIPLE_MEMO_LIMIT = 200_000;

export class Devices {
  /**
   * productKey + deviceKey → assetId, learnt from earlier lookups. A device's triple and assetId never
   * change, so this holds no state that can go stale: every lookup still reads the record itself by
   * its primary key (fresh status and secret, docs/PERFORMANCE-NOTES.md "CONNECT path"), and a record
   * that is gone or no longer matches (deleted, re-created under a new assetId, on any node) sends the
   * lookup back to the triple index. It saves the generic indexed query on every CONNECT.
   */
  private readonly assetIdOfTriple = new Map<string, string>();
  /**
   * Devices as the CONNECT check reads them (`forConnect`), by triple (record-cache.ts). Dropped on
   * every change of what that check looks at: disable, enable, delete, update, the first login.
   */
  private readonly connectCache: RecordCache<ConnectView>;
  private readonly identityLookup: DeviceIdentities;
  /** The `online` and `offline` writes, committed in batches (status-commits.ts). */
  private readonly statusCommits: StatusCommits;

  constructor(
    private readonly devices: Collection<DeviceRecord>,
    private readonly products: { require(orgId: string, productKey: string): Promise<ProductRecord> },
    private readonly events: RegistryEventBus,
    private readonly limits: DeviceLimits,
    cacheRecords = false,
    statusCommits: StatusCommitOptions = defaultStatusCommits,
  ) {
    this.statusCommits = new StatusCommits(statusCommits);
    this.connectCache = new RecordCache(cacheRecords);
    this.identityLookup = new DeviceIdentities(devices, events, cacheRecords);
  }

  async create(orgId: string, input: NewDevice, by: string, now = Date.now()): Promise<DeviceRecord> {
    requireKnownTimezone(input.timezone);
    const product = await this.products.require(orgId, input.productKey);
    const existing = await this.devices.count({ productKey: product.productKey });
    if (existing >= this.limits.maxDevicesPerProduct) {
      throw new EnosError(codes.deviceLimitExceeded, `Product ${product.productKey} already has ${existing} devices`);
    }
    checkAttributes(product.thingModel, input.deviceAttributes);
    for (let attempt = 0; ; attempt++) {
      const device = this.newRecord(orgId, product, input, by, now);
      try {
        await this.devices.insert(device);
        this.events.emit('deviceCreated', device);
        return device;
      } catch (e) {
        if (!(e instanceof DuplicateKeyError)) throw e;
        const err = this.translateInsertError(e, input, attempt);
        if (err) throw err;
      }
    }
  }

  /**
   * Creates each device independently: one bad entry does not stop the others. Results are in
   * request order with the EnOS per-item shape `{code, msg, data}`.
   */
  async batchCreate(orgId: string, inputs: NewDevice[], by: string, now = Date.now()): Promise<BatchItemResult[]> {
    const results = new Array<BatchItemResult | undefined>(inputs.length);
    const remaining = new Map<string, number>(); // productKey → how many more devices fit
    const products = new Map<string, ProductRecord | EnosError>();
    const pending: { index: number; record: DeviceRecord }[] = [];
    const seen = new Set<string>();

    for (const [index, input] of inputs.entries()) {
      try {
        requireKnownTimezone(input.timezone);
        let product = products.get(input.productKey);
        if (!product) {
          product = await this.products.require(orgId, input.productKey).catch((e: unknown) => {
            if (e instanceof EnosError) return e;
            throw e;
          });
          products.set(input.productKey, product);
          if (!(product instanceof EnosError)) {
            const n = await this.devices.count({ productKey: product.productKey });
            remaining.set(product.productKey, this.limits.maxDevicesPerProduct - n);
          }
        }
        if (product instanceof EnosError) throw product;
        checkAttributes(product.thingModel, input.deviceAttributes);
        const left = remaining.get(product.productKey) ?? 0;
        if (left <= 0) throw new EnosError(codes.deviceLimitExceeded, `Product ${product.productKey} is full`);
        const record = this.newRecord(orgId, product, input, by, now);
        const tripleKey = `${record.productKey}\u0000${record.deviceKey}`;
        if (seen.has(tripleKey)) throw new EnosError(codes.deviceKeyExists, `Device key ${record.deviceKey} appears twice in the request`);
        seen.add(tripleKey);
        remaining.set(product.productKey, left - 1);
        pending.push({ index, record });
      } catch (e) {
        if (!(e instanceof EnosError)) throw e;
        results[index] = { code: e.code, msg: e.message, data: null };
      }
    }

    const outcomes = await this.devices.insertMany(pending.map((p) => p.record));
    for (const [i, { index, record }] of pending.entries()) {
      const err = outcomes[i];
      const input = inputs[index]!;
      if (!err) {
        results[index] = { code: 0, msg: 'OK', data: created(record) };
        this.events.emit('deviceCreated', record);
        continue;
      }
      if (err.index === 'triple' && input.deviceKey !== undefined) {
        results[index] = { code: codes.deviceKeyExists, msg: `Device key ${input.deviceKey} already exists`, data: null };
        continue;
      }
      // A generated key or assetId collided: retry this one alone.
      try {
        const d = await this.create(orgId, input, by, now);
        results[index] = { code: 0, msg: 'OK', data: created(d) };
      } catch (e) {
        if (!(e instanceof EnosError)) throw e;
        results[index] = { code: e.code, msg: e.message, data: null };
      }
    }
    return results as BatchItemResult[];
  }

  /** The device in this org, or 11404. Another org's device is indistinguishable from a missing one. */
  async require(orgId: string, ref: DeviceRef): Promise<DeviceRecord> {
    const d = await this.find(ref);
    if (!d || d.orgId !== orgId) throw new EnosError(codes.deviceNotFound, 'Device cannot be found');
    return d;
  }

  find(ref: DeviceRef): Promise<DeviceRecord | undefined> {
    return 'assetId' in ref ? this.devices.get(ref.assetId) : this.byTriple(ref.productKey, ref.deviceKey);
  }

  /** The org and keys of many devices by assetId, in one store call at most (device-lookup.ts); assetIds that name no device are absent. */
  identities(assetIds: readonly string[]): Promise<Map<string, DeviceIdentity>> {
    return this.identityLookup.byAssetIds(assetIds);
  }

  /**
   * The device as the CONNECT check reads it (docs/ENOS-PROTOCOL.md §2.2). Its identity, secret, whether it
   * is disabled and its activeTime are current; its online status and timestamps may not be: use
   * `byTriple` for anything else.
   */
  forConnect(productKey: string, deviceKey: string): Promise<ConnectView | undefined> {
    return this.connectCache.read(tripleOf(productKey, deviceKey), async () => {
      const d = await this.byTriple(productKey, deviceKey);
      return d && connectView(d);
    });
  }

  private dropConnect(d: { productKey: string; deviceKey: string }): void {
    this.connectCache.drop(tripleOf(d.productKey, d.deviceKey));
  }

  async byTriple(productKey: string, deviceKey: string): Promise<DeviceRecord | undefined> {
    const triple = tripleOf(productKey, deviceKey);
    const known = this.assetIdOfTriple.get(triple);
    if (known !== undefined) {
      const d = await this.devices.get(known);
      if (d && d.productKey === productKey && d.deviceKey === deviceKey) return d;
      this.assetIdOfTriple.delete(triple);
    }
    const d = await this.devices.findOne({ productKey, deviceKey });
    if (d) {
      if (this.assetIdOfTriple.size >= TRIPLE_MEMO_LIMIT) this.assetIdOfTriple.clear();
      this.assetIdOfTriple.set(triple, d.assetId);
    }
    return d;
  }

  search(orgId: string, filter: Filter, options: FindOptions) {
    return this.devices.find({ $and: [{ orgId }, filter] }, options);
  }

  async update(orgId: string, ref: DeviceRef, input: DeviceUpdate, patch: boolean, now = Date.now()): Promise<DeviceRecord> {
    if (input.timezone !== undefined) requireKnownTimezone(input.timezone);
    const device = await this.require(orgId, ref);
    const set: Partial<DeviceRecord> = { updateTime: now };
    if (input.deviceName !== undefined) set.deviceName = input.deviceName;
    if (input.deviceDesc !== undefined) set.deviceDesc = input.deviceDesc;
    if (input.timezone !== undefined) set.timezone = input.timezone;
    if (input.deviceAttributes !== undefined) {
      const product = await this.products.require(orgId, device.productKey);
      const attrs = patch ? { ...device.deviceAttributes, ...input.deviceAttributes } : input.deviceAttributes;
      checkAttributes(product.thingModel, attrs);
      set.deviceAttributes = attrs;
    }
    if (input.deviceTags !== undefined) {
      set.deviceTags = patch ? { ...device.deviceTags, ...input.deviceTags } : input.deviceTags;
      if (Object.keys(set.deviceTags).length > MAX_TAGS)
        throw new EnosError(codes.invalidArgument, `Invalid Argument deviceTags: at most ${MAX_TAGS} tags`);
    }
    const updated = await this.devices.update(device.assetId, set, { orgId }).finally(() => this.dropConnect(device));
    if (!updated) throw new EnosError(codes.deviceNotFound, 'Device cannot be found');
    return updated;
  }

  async delete(orgId: string, ref: DeviceRef): Promise<DeviceRecord> {
    const device = await this.require(orgId, ref);
    // A deleted gateway leaves its sub-devices free to join another gateway.
    if (device.productType === 'Gateway') {
      const subs = await this.devices.find({ gatewayAssetId: device.assetId });
      for (const sub of subs.items) await this.devices.unset(sub.assetId, ['gatewayAssetId'], { gatewayAssetId: device.assetId });
    }
    const deleted = await this.devices.delete(device.assetId, { orgId }).finally(() => this.dropConnect(device));
    if (deleted) this.events.emit('deviceDeleted', device);
    return device;
  }

  async disable(orgId: string, ref: DeviceRef): Promise<DeviceRecord> {
    const device = await this.require(orgId, ref);
    if (device.status === 'disabled') return device;
    const updated = await this.devices.update(device.assetId, { status: 'disabled' }, { orgId }).finally(() => this.dropConnect(device));
    if (!updated) throw new EnosError(codes.deviceNotFound, 'Device cannot be found');
    this.events.emit('deviceDisabled', updated);
    return updated;
  }

  async enable(orgId: string, ref: DeviceRef): Promise<DeviceRecord> {
    const device = await this.require(orgId, ref);
    if (device.status !== 'disabled') return device;
    // A disabled device has no session; it comes back offline, or inactive if it never connected.
    const status: DeviceStatus = device.activeTime !== undefined ? 'offline' : 'inactive';
    const updated = await this.devices
      .update(device.assetId, { status }, { orgId, status: 'disabled' })
      .finally(() => this.dropConnect(device));
    if (!updated) return this.require(orgId, ref);
    this.events.emit('deviceEnabled', updated);
    return updated;
  }

  /**
   * Called by the broker on a successful login: first login sets activeTime (inactive → online).
   * `seen`: the device as the CONNECT check read it, activated (activeTime set) or not. It picks the
   * one conditional write to try first, without reading the record again (docs/BENCHMARKS.md,
   * "CONNECT and device GET"); the write's condition, not `seen`, decides: when it does not hold,
   * the general path runs. Resolves once the write has committed, in a batch with the other status
   * writes of the moment (status-commits.ts).
   */
  markOnline(
    assetId: string,
    at = Date.now(),
    seen?: { productKey: string; deviceKey: string; activated: boolean },
  ): Promise<DeviceRecord | undefined> {
    return this.statusCommits.run(() => this.writeOnline(assetId, at, seen));
  }

  private async writeOnline(
    assetId: string,
    at: number,
    seen: { productKey: string; deviceKey: string; activated: boolean } | undefined,
  ): Promise<DeviceRecord | undefined> {
    const set: Partial<DeviceRecord> = { status: 'online', lastOnlineTime: at };
    // activeTime is never removed: a device seen activated is activated.
    if (seen?.activated) return this.devices.update(assetId, set, NOT_DISABLED);
    if (seen) {
      const activated = await this.devices
        .update(assetId, { ...set, activeTime: at }, NOT_YET_ACTIVE)
        .finally(() => this.dropConnect(seen));
      if (activated) return activated;
    }
    const d = await this.devices.get(assetId);
    if (!d || d.status === 'disabled') return d;
    if (d.activeTime === undefined) {
      set.activeTime = at;
      // The CONNECT check refuses a second activation (securemode 3) by activeTime.
      return this.devices.update(assetId, set, NOT_DISABLED).finally(() => this.dropConnect(d));
    }
    return this.devices.update(assetId, set, NOT_DISABLED);
  }

  /**
   * Resolves once the write has committed, in a batch with the other status writes of the moment.
   * Nodes sharing one registry each write the status of the sessions they hold, and the one a
   * device left may write later than the one it moved to (docs/ARCHITECTURE.md, "Clustering"), so
   * the write can be held to a condition on the device's last login:
   * - `onlineSince`: the lastOnlineTime the caller's own `online` write stored; offline only if no
   *   login has been written since;
   * - `onlineBefore`: offline only if the last login is older than this (a node's liveness sweep,
   *   for the devices of a node that died: a login written since the sweep began is a new session).
   */
  markOffline(
    assetId: string,
    at = Date.now(),
    condition?: { onlineSince: number } | { onlineBefore: number },
  ): Promise<DeviceRecord | undefined> {
    const where =
      condition === undefined
        ? ONLINE
        : 'onlineSince' in condition
          ? { status: 'online', lastOnlineTime: condition.onlineSince }
          : { status: 'online', lastOnlineTime: { $lt: condition.onlineBefore } };
    return this.statusCommits.run(() => this.devices.update(assetId, { status: 'offline', lastOfflineTime: at }, where));
  }

  private newRecord(orgId: string, product: ProductRecord, input: NewDevice, by: string, now: number): DeviceRecord {
    const d: DeviceRecord = {
      assetId: newAssetId(),
      orgId,
      productKey: product.productKey,
      productType: product.productType,
      deviceKey: input.deviceKey ?? newDeviceKey(),
      deviceSecret: newDeviceSecret(),
      deviceName: input.deviceName,
      timezone: input.timezone,
      deviceAttributes: input.deviceAttributes ?? {},
      deviceTags: input.deviceTags ?? {},
      status: 'inactive',
      createBy: by,
      createTime: now,
      updateTime: now,
    };
    if (input.deviceDesc !== undefined) d.deviceDesc = input.deviceDesc;
    return d;
  }

  /** Maps a failed insert to the EnOS error, or undefined to retry with fresh generated keys. */
  private translateInsertError(e: DuplicateKeyError, input: NewDevice, attempt: number): EnosError | undefined {
    if (e.index === 'triple' && input.deviceKey !== undefined) {
      return new EnosError(codes.deviceKeyExists, `Device key ${input.deviceKey} already exists`);
    }
    if (attempt + 1 >= KEY_ATTEMPTS) return new EnosError(codes.deviceKeyGenerationFailed);
    return undefined;
  }
}

/**
 * What the CONNECT check reads of a device. The cache keeps only this, not the whole record (names,
 * attributes, tags): a few hundred bytes per device a storm of first logins leaves for the collector.
 */
export type ConnectView = Pick<
  DeviceRecord,
  'assetId' | 'orgId' | 'productKey' | 'deviceKey' | 'productType' | 'deviceSecret' | 'status'
> & {
  activeTime?: number;
};

function connectView(d: DeviceRecord): ConnectView {
  const v: ConnectView = {
    assetId: d.assetId,
    orgId: d.orgId,
    productKey: d.productKey,
    deviceKey: d.deviceKey,
    productType: d.productType,
    deviceSecret: d.deviceSecret,
    status: d.status,
  };
  if (d.activeTime !== undefined) v.activeTime = d.activeTime;
  return v;
}

export const MAX_TAGS = 100;

export function created(d: DeviceRecord): CreatedDevice {
  return { assetId: d.assetId, productKey: d.productKey, deviceKey: d.deviceKey, deviceSecret: d.deviceSecret };
}

/** Device attributes must be declared by the product's thing model and fit their types. */
function checkAttributes(model: ThingModel, attrs: Record<string, unknown> | undefined): void {
  for (const [id, value] of Object.entries(attrs ?? {})) {
    const spec = model.attributes[id];
    if (!spec)
      throw new EnosError(codes.invalidArgument, `Invalid Argument deviceAttributes: ${id} is not an attribute of the thing model`);
    const reason = checkValue(spec, value, `deviceAttributes.${id}`);
    if (reason) throw new EnosError(codes.invalidArgument, `Invalid Argument ${reason}`);
  }
  for (const [id, spec] of Object.entries(model.attributes)) {
    if (spec.required && (attrs === undefined || !(id in attrs))) {
      throw new EnosError(codes.invalidArgument, `Invalid Argument deviceAttributes: ${id} is required`);
    }
  }
}

/**
 * The conditions of the status writes, frozen: the embedded store compiles a frozen filter once
 * (store/embedded/collection.ts), not on every CONNECT and DISCONNECT.
 */
const NOT_DISABLED: Filter = deepFreeze({ status: { $ne: 'disabled' } });
const NOT_YET_ACTIVE: Filter = deepFreeze({ status: { $ne: 'disabled' }, activeTime: { $exists: false } });
const ONLINE: Filter = deepFreeze({ status: 'online' });

const tripleOf = (productKey: string, deviceKey: string) => `${productKey}\u0000${deviceKey}`;
