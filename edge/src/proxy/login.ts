import { subDeviceSignature, topics } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { SubDeviceCredentials } from '../registration/sub-devices.js';
import type { Uplink } from '../uplink/uplink.js';

const LOGIN_CHUNK = 50;

/**
 * Logs sub-devices in through the gateway with `combine.login.batch` (docs/ENOS-PROTOCOL.md §5.3):
 * shared clientId (the gateway's productKey, as the Node SDK does) and timestamp, one 4-field sign
 * per sub-device. At most `cap` are logged in (the hub's online cap, §5); the others still report
 * through post/batch with allowOfflineSubDevice.
 */
export async function loginSubDevices(
  uplink: Uplink,
  gateway: { productKey: string; deviceKey: string },
  subs: SubDeviceCredentials[],
  cap: number,
  log: Logger,
): Promise<Set<string>> {
  const loggedIn = new Set<string>();
  const take = subs.slice(0, cap);
  if (subs.length > cap)
    log.warn({ cap, total: subs.length }, 'more sub-devices than the gateway may keep online; the rest report without login');
  for (let i = 0; i < take.length; i += LOGIN_CHUNK) {
    const chunk = take.slice(i, i + LOGIN_CHUNK);
    const timestamp = String(Date.now());
    const clientId = gateway.productKey;
    const r = await uplink.request(topics.combineLoginBatch(gateway.productKey, gateway.deviceKey), 'combine.login.batch', {
      clientId,
      timestamp,
      signMethod: 'sha256',
      subDevices: chunk.map((s) => ({
        productKey: s.productKey,
        deviceKey: s.deviceKey,
        secureMode: 2,
        sign: subDeviceSignature({ clientId, deviceKey: s.deviceKey, productKey: s.productKey, timestamp }, s.deviceSecret, 'sha256'),
      })),
    });
    const data = r.data as { loginedSubDevices?: { deviceKey: string }[]; failedSubDevices?: { deviceKey: string }[] } | undefined;
    for (const d of data?.loginedSubDevices ?? []) loggedIn.add(d.deviceKey);
    if (r.code !== 200)
      log.warn(
        { code: r.code, message: r.message, failed: data?.failedSubDevices?.map((d) => d.deviceKey) },
        'some sub-devices could not log in',
      );
  }
  return loggedIn;
}
