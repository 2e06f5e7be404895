import type { ApiClient } from '@edgehub/shared/api-client';
import type { Logger } from 'pino';

export interface SubDeviceWanted {
  deviceKey: string;
  name?: string;
}

export interface SubDeviceCredentials {
  productKey: string;
  deviceKey: string;
  assetId: string;
  deviceSecret: string;
}

export class RegistrationError extends Error {
  override name = 'RegistrationError';
}

type DeviceView = { assetId: string; productKey: string; deviceKey: string; deviceSecret: string; gatewayAssetId: string | null };

const PAGE = 200;
const BATCH = 1000;

/**
 * Makes sure every configured sub-device exists in the hub and belongs to this gateway's topology,
 * and returns what the edge needs to log each in (docs/ENOS-PROTOCOL.md §5, seed step 6):
 * dynamic — missing devices are created with the service account; static — they must have been
 * created beforehand (in the console) and are only bound here.
 */
export async function ensureSubDevices(
  api: ApiClient,
  ids: { orgId: string; subDeviceProductKey: string; gateway: { productKey: string; deviceKey: string } },
  wanted: SubDeviceWanted[],
  mode: 'dynamic' | 'static',
  log: Logger,
): Promise<Map<string, SubDeviceCredentials>> {
  const { orgId, subDeviceProductKey: productKey } = ids;
  const found = new Map<string, DeviceView>();
  for (let i = 0; i < wanted.length; i += PAGE) {
    const keys = wanted.slice(i, i + PAGE).map((w) => `'${w.deviceKey.replace(/'/g, "''")}'`);
    const r = await api.ok<DeviceView[]>(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'search', orgId },
      { expression: `productKey = '${productKey}' and deviceKey in (${keys.join(', ')})`, pagination: { pageNo: 1, pageSize: PAGE } },
    );
    for (const d of r.data) found.set(d.deviceKey, d);
  }
  const missing = wanted.filter((w) => !found.has(w.deviceKey));
  if (missing.length > 0 && mode === 'static') {
    throw new RegistrationError(
      `sub-devices not found in the hub (static registration binds devices created beforehand): ${missing.map((m) => m.deviceKey).join(', ')}`,
    );
  }
  for (let i = 0; i < missing.length; i += BATCH) {
    const chunk = missing.slice(i, i + BATCH);
    const r = await api.ok<{ code: number; msg: string; data: SubDeviceCredentials | null }[]>(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'batchCreate', orgId },
      {
        deviceList: chunk.map((w) => ({
          productKey,
          deviceKey: w.deviceKey,
          deviceName: { defaultValue: w.name ?? w.deviceKey },
          timezone: '+00:00',
        })),
      },
    );
    for (const [j, item] of r.data.entries()) {
      if (!item.data) throw new RegistrationError(`could not create sub-device ${chunk[j]!.deviceKey}: ${item.code} ${item.msg}`);
      found.set(item.data.deviceKey, { ...item.data, gatewayAssetId: null });
      log.info({ deviceKey: item.data.deviceKey, assetId: item.data.assetId }, 'sub-device registered in the hub');
    }
  }
  // Topology: adding a sub-device already under this gateway again is harmless (idempotent).
  const gateway = { productKey: ids.gateway.productKey, deviceKey: ids.gateway.deviceKey };
  const all = [...found.values()];
  for (let i = 0; i < all.length; i += BATCH) {
    await api.ok(
      'POST',
      '/connect-service/v2.1/device-topos',
      { action: 'addSubDevice', orgId },
      { gateway, subDevices: all.slice(i, i + BATCH).map((d) => ({ assetId: d.assetId })) },
    );
  }
  return new Map(
    all.map((d) => [d.deviceKey, { productKey: d.productKey, deviceKey: d.deviceKey, assetId: d.assetId, deviceSecret: d.deviceSecret }]),
  );
}
