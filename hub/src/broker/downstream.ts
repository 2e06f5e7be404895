import { topics } from '@edgehub/shared';
import type { HubMetrics } from '../metrics.js';
import { pushTo } from '../sessions/push.js';
import type { SessionRegistry } from '../sessions/sessions.js';

/**
 * Delivery of cloud → device messages (docs/ENOS-PROTOCOL.md §4.2): to the device's own session, or,
 * for a logged-in sub-device, to its gateway's session on the sub-device's own topics. Devices
 * never need to have subscribed (§0.5).
 */
export class Downstream {
  constructor(
    private readonly sessions: SessionRegistry,
    private readonly metrics?: HubMetrics,
  ) {}

  /** Resolves true once handed to the connection, false when the device is not reachable here. */
  async send(productKey: string, deviceKey: string, topic: string, message: unknown, qos: 0 | 1 = 1): Promise<boolean> {
    const session = this.sessions.routeTo(productKey, deviceKey);
    if (!session || session.client.closed) return false;
    try {
      await pushTo(session, topic, message, qos);
      this.metrics?.messagesOut.inc({ kind: topics.parse(topic)?.kind ?? 'other' });
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
