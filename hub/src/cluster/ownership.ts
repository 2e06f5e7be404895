import type { Logger } from 'pino';
import type { SessionOwnership } from '../broker/lifecycle.js';
import type { SessionRegistry } from '../broker/sessions.js';
import type { ClusterLink } from './link.js';

/** Session ownership over the cluster link: a login here takes the device over from any other node. */
export function clusterOwnership(link: ClusterLink, log: Logger): SessionOwnership {
  return {
    async claim(device) {
      const previous = await link.claim(device.productKey, device.deviceKey);
      if (!previous) return;
      log.info({ assetId: device.assetId, previous }, 'device moved here from another node: asking it to let go');
      await link.send(previous, { type: 'takeover', productKey: device.productKey, deviceKey: device.deviceKey });
    },
    release: (device) => link.release(device.productKey, device.deviceKey),
  };
}

/**
 * Another node now holds the device: close the direct session here (its disconnect then finds the
 * record taken and writes no "offline"), or forget a sub-device logged in through a local gateway.
 */
export function letGo(sessions: SessionRegistry, productKey: string, deviceKey: string): void {
  const direct = sessions.ofDevice(productKey, deviceKey);
  if (direct) {
    direct.client.close();
    return;
  }
  sessions.logoutSubDevice(productKey, deviceKey);
}
