import type { Collection } from '../store/port.js';
import type { RegistryEventBus } from './events.js';
import { RecordCache } from './record-cache.js';
import type { DeviceRecord } from './records.js';

/** What never changes for an assetId while its device exists: its org and its keys. */
export type DeviceIdentity = Pick<DeviceRecord, 'assetId' | 'orgId' | 'productKey' | 'deviceKey'>;

/**
 * Many devices by assetId in one store call (one `$in` query on the primary key) instead of one
 * read per device: what a query over a list of devices, such as queryLatest, needs
 * (docs/BENCHMARKS.md, "queryLatest"). The answer maps each assetId found to its record; assetIds
 * that name no device are absent. The caller checks each record's orgId.
 */
export async function devicesByAssetId(devices: Collection<DeviceRecord>, assetIds: readonly string[]): Promise<Map<string, DeviceRecord>> {
  const out = new Map<string, DeviceRecord>();
  if (assetIds.length === 0) return out;
  const unique = [...new Set(assetIds)];
  const { items } = await devices.find({ assetId: unique.length === 1 ? unique[0] : { $in: unique } });
  for (const d of items) out.set(d.assetId, d);
  return out;
}

/**
 * The org and keys of many devices by assetId. On a single-writer hub they are held in memory
 * (record-cache.ts): a device's assetId, orgId, productKey and deviceKey never change, so only its
 * deletion drops an entry (the `deviceDeleted` event, emitted once the delete has committed); the
 * devices not held are read in one store call. In a cluster every call reads the store.
 */
export class DeviceIdentities {
  private readonly cache: RecordCache<DeviceIdentity>;

  constructor(
    private readonly devices: Collection<DeviceRecord>,
    events: RegistryEventBus,
    cacheRecords: boolean,
  ) {
    this.cache = new RecordCache(cacheRecords);
    if (cacheRecords) events.on('deviceDeleted', (d) => this.cache.drop(d.assetId));
  }

  async byAssetIds(assetIds: readonly string[]): Promise<Map<string, DeviceIdentity>> {
    // RecordCache.read asks for a record synchronously on a miss: the misses are collected and
    // then read together, each read waiting on the one batch.
    const misses: string[] = [];
    let answer!: (batch: Promise<Map<string, DeviceRecord>>) => void;
    const batch = new Promise<Map<string, DeviceRecord>>((resolve) => (answer = resolve));
    const unique = [...new Set(assetIds)];
    const reads = unique.map((assetId) =>
      this.cache.read(assetId, () => {
        misses.push(assetId);
        return batch.then((found) => identityOf(found.get(assetId)));
      }),
    );
    answer(misses.length === 0 ? Promise.resolve(new Map<string, DeviceRecord>()) : devicesByAssetId(this.devices, misses));
    const out = new Map<string, DeviceIdentity>();
    (await Promise.all(reads)).forEach((d, i) => {
      if (d) out.set(unique[i]!, d);
    });
    return out;
  }
}

function identityOf(d: DeviceRecord | undefined): DeviceIdentity | undefined {
  return d && { assetId: d.assetId, orgId: d.orgId, productKey: d.productKey, deviceKey: d.deviceKey };
}
