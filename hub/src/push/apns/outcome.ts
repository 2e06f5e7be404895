/**
 * What one APNs request came to, classified by status and reason as docs/DEVICE-MANAGEMENT.md
 * ("Apple: push") describes. The push worker acts on the kind, never on raw statuses.
 */
export type PushOutcome =
  | { kind: 'sent'; apnsId: string }
  /** 410 ExpiredToken/Unregistered, 400 BadDeviceToken/DeviceTokenNotForTopic: stop until the next TokenUpdate. */
  | { kind: 'token-invalid'; status: number; reason: string }
  /** 403: the push certificate is expired, revoked or for the wrong environment: an operator must act. */
  | { kind: 'certificate'; status: number; reason: string }
  /** 429 and 5xx, or the connection failed: try again later. */
  | { kind: 'retry'; status: number; reason: string }
  /** Any other 4xx: a defect on our side; retrying would not help. */
  | { kind: 'rejected'; status: number; reason: string };

export function classifyApnsResponse(status: number, reason: string, apnsId: string | undefined): PushOutcome {
  if (status === 200) return { kind: 'sent', apnsId: apnsId ?? '' };
  if (status === 410) return { kind: 'token-invalid', status, reason };
  if (status === 400 && (reason === 'BadDeviceToken' || reason === 'DeviceTokenNotForTopic'))
    return { kind: 'token-invalid', status, reason };
  if (status === 403) return { kind: 'certificate', status, reason };
  if (status === 429 || status >= 500) return { kind: 'retry', status, reason };
  return { kind: 'rejected', status, reason };
}

/** The target of one MDM wake-up push. */
export interface MdmPushTarget {
  tokenHex: string;
  pushMagic: string;
  topic: string;
}

/** The push provider port as the Apple plugin uses it. */
export interface MdmPushProvider {
  push(target: MdmPushTarget): Promise<PushOutcome>;
  close(): Promise<void>;
}
