import type { Registry } from '../registry/registry.js';
import type { DeviceRecord, ProductRecord } from '../registry/records.js';

/** The EnOS Device struct (docs/ENOS-PROTOCOL.md §7.3 "Get device"). */
export function deviceView(d: DeviceRecord, product: ProductRecord | undefined) {
  return {
    orgId: d.orgId,
    assetId: d.assetId,
    modelId: product?.modelId ?? null,
    productKey: d.productKey,
    productName: product?.productName ?? null,
    productType: d.productType,
    dataFormat: product?.dataFormat ?? null,
    deviceKey: d.deviceKey,
    deviceName: d.deviceName,
    deviceSecret: d.deviceSecret,
    deviceDesc: d.deviceDesc ?? null,
    timezone: d.timezone,
    deviceAttributes: d.deviceAttributes,
    deviceTags: d.deviceTags,
    status: d.status,
    createTime: d.createTime,
    activeTime: d.activeTime ?? null,
    lastOnlineTime: d.lastOnlineTime ?? null,
    lastOfflineTime: d.lastOfflineTime ?? null,
    gatewayAssetId: d.gatewayAssetId ?? null,
  };
}

/** Views of many devices, looking each product up once. */
export async function deviceViews(registry: Registry, devices: DeviceRecord[]) {
  const products = new Map<string, ProductRecord | undefined>();
  for (const d of devices) if (!products.has(d.productKey)) products.set(d.productKey, await registry.products.byKey(d.productKey));
  return devices.map((d) => deviceView(d, products.get(d.productKey)));
}
