import { EnosError, codes } from '@edgehub/shared';
import type { DeviceRef } from '../registry/devices.js';

/** Reads a device reference: assetId, or productKey + deviceKey (docs/ENOS-PROTOCOL.md §7.3). */
export function deviceRefOf(src: { assetId?: string; productKey?: string; deviceKey?: string } | undefined, where = 'query'): DeviceRef {
  if (src?.assetId) return { assetId: src.assetId };
  if (src?.productKey && src.deviceKey) return { productKey: src.productKey, deviceKey: src.deviceKey };
  throw new EnosError(codes.invalidArgument, `Invalid Argument ${where}: assetId or productKey + deviceKey is required`);
}
