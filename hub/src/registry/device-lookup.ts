import type { Collection } from '../store/port.js';
import type { DeviceRecord } from './records.js';

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
