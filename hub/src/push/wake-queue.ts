/**
 * The outbound wake-up queue (docs/DEVICE-MANAGEMENT.md, "Push queue"): the management call only
 * enqueues; a worker drains the queue and calls the device type's push provider.
 *
 * - Coalesced per device: any number of wake-ups queued for a device before the push goes out
 *   are one push. A wake-up queued while that device's push is being sent is not lost: when the
 *   in-flight one is acknowledged, the device is due again.
 * - Leased: a worker takes wake-ups for a lease period; one it neither acknowledges nor retries
 *   before the lease runs out (its node died) is due again for any worker.
 * - Durable in the Redis adapter (any node sends; nothing lost when a node dies); the memory
 *   adapter serves a single node.
 * One contract suite runs against both adapters (hub/test/wake-queue.contract.test.ts).
 */

export interface WakeRequest {
  deviceType: string;
  /** The device-management device id. */
  deviceId: string;
}

export interface LeasedWake extends WakeRequest {
  /** Failed attempts so far (0 on the first try). */
  attempts: number;
  /** Identifies this lease; ack/retry with a lease that ran out do nothing. */
  leaseId: string;
}

export interface WakeQueue {
  /** Queues a wake-up for the device (coalesced). Resolves once it is stored. */
  enqueue(wake: WakeRequest): Promise<void>;
  /** Takes up to `max` due wake-ups, oldest due first, each leased for `leaseMs`. */
  lease(max: number, leaseMs: number): Promise<LeasedWake[]>;
  /** Done (sent, or dropped for good). False when the lease had run out. */
  ack(wake: LeasedWake): Promise<boolean>;
  /** Try again not before `notBefore` (epoch ms), one more attempt counted. False when the lease had run out. */
  retry(wake: LeasedWake, notBefore: number): Promise<boolean>;
  /** Wake-ups queued or leased. */
  size(): Promise<number>;
  close(): Promise<void>;
}

export const wakeKey = (w: WakeRequest): string => `${w.deviceType}/${w.deviceId}`;
