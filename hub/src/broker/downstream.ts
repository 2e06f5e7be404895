import { pushTo } from './push.js';
import type { SessionRegistry } from './sessions.js';

/**
 * Delivery of cloud → device messages (enos-protocol.md §4.2): to the device's own session, or,
 * for a logged-in sub-device, to its gateway's session on the sub-device's own topics. Devices
 * never need to have subscribed (§0.5).
 */
export class Downstream {
  constructor(private readonly sessions: SessionRegistry) {}

  /** Resolves true once handed to the connection, false when the device is not reachable here. */
  async send(productKey: string, deviceKey: string, topic: string, message: unknown, qos: 0 | 1 = 1): Promise<boolean> {
    const session = this.sessions.routeTo(productKey, deviceKey);
    if (!session || session.client.closed) return false;
    try {
      await pushTo(session, topic, message, qos);
      return true;
    } catch {
      return false;
    }
  }

  isReachable(productKey: string, deviceKey: string): boolean {
    const s = this.sessions.routeTo(productKey, deviceKey);
    return s !== undefined && !s.client.closed;
  }
}
