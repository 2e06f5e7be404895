/**
 * The push provider port (docs/DEVICE-MANAGEMENT.md, "Push"): wakes a device so that it checks in
 * and pulls its next command. One adapter per push service (APNs, later FCM and WNS); the push
 * queue worker calls it and acts on the outcome. Adapters never throw for a device-specific
 * failure: they answer with an outcome.
 */

/** Whom to wake: the device and the push credentials it registered (Apple: token + PushMagic + topic). */
export interface PushTarget {
  orgId: string;
  deviceType: string;
  /** The device-management device id. */
  deviceId: string;
  /** The push token the device registered (APNs: hex of the 32-byte token). */
  token: string;
  /** Provider-specific values the device registered with its token (APNs: pushMagic, topic). */
  extra: Record<string, string>;
}

export type WakeOutcome =
  /** Accepted by the push service (id: e.g. apns-id). */
  | { kind: 'sent'; id?: string }
  /** The token is no longer valid (APNs 410, FCM UNREGISTERED, WNS 410): stop pushing until the device registers a new one. */
  | { kind: 'token-invalid'; reason: string }
  /** Transient (429, 5xx, network): try again, not before `afterMs` if the service said so. */
  | { kind: 'retry-after'; afterMs?: number; reason: string }
  /** Refused for a reason retrying will not fix (400, 403: bad certificate or topic); an operator must act. */
  | { kind: 'rejected'; reason: string; status?: number };

export interface PushProvider {
  /** e.g. 'apns', 'fcm', 'wns'. */
  readonly id: string;
  wake(target: PushTarget): Promise<WakeOutcome>;
  close?(): Promise<void>;
}
