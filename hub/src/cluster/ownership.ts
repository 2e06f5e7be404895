import type { Logger } from 'pino';
import type { SessionOwnership } from '../broker/lifecycle.js';
import type { SessionRegistry } from '../sessions/sessions.js';
import type { ClusterLink } from './link.js';

/**
 * Session ownership over the cluster link: a login here takes the device over from any other node.
 * Without Redis the device is still served here: a failed claim is logged and its status written
 * anyway (the link re-claims every local session when Redis is back), and a failed release counts
 * as held (while Redis is away no other node can have claimed the device).
 */
export function clusterOwnership(link: ClusterLink, log: Logger): SessionOwnership {
  return {
    async claim(device) {
      let previous: string | undefined;
      try {
        previous = await link.claim(device.productKey, device.deviceKey, device);
      } catch (err) {
        log.warn({ err: (err as Error).message, assetId: device.assetId }, 'session not recorded in the cluster (Redis unreachable)');
        return;
      }
      if (!previous) return;
      log.info({ assetId: device.assetId, previous }, 'device moved here from another node: asking it to let go');
      await link.send(previous, { type: 'takeover', productKey: device.productKey, deviceKey: device.deviceKey });
    },
    release: (device) => link.release(device.productKey, device.deviceKey).catch(() => true),
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
