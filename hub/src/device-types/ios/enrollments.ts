import type { Collection, CollectionSpec, Store } from '../../store/port.js';

/**
 * One Apple device channel (docs/DEVICE-MANAGEMENT.md, "Apple: enrollment"). The id is the UDID
 * (or the EnrollmentID of a User Enrollment). Created at Authenticate, usable for pushes after
 * the first TokenUpdate, disabled by CheckOut or a new Authenticate.
 */
export interface IosEnrollment {
  udid: string;
  topic: string;
  /** sha256 (hex) of the identity certificate that sent Authenticate: later requests must match. */
  certSha256: string;
  serialNumber?: string;
  deviceName?: string;
  model?: string;
  osVersion?: string;
  /** APNs device token, hex as APNs wants it in the request path. */
  tokenHex?: string;
  pushMagic?: string;
  /** Base64 of the UnlockToken (needed for ClearPasscode). */
  unlockToken?: string;
  /** True between the first TokenUpdate and a CheckOut / new Authenticate. */
  enabled: boolean;
  /** APNs answered 410 (or BadDeviceToken): no pushes until the next TokenUpdate. */
  pushInvalid: boolean;
  tokenUpdateTally: number;
  authenticatedAt: number;
  lastSeenAt: number;
}

export const iosEnrollmentSpec: CollectionSpec = {
  name: 'iosEnrollments',
  key: 'udid',
  indexes: ['certSha256'],
};

export async function openIosEnrollments(store: Store): Promise<Collection<IosEnrollment>> {
  return store.collection<IosEnrollment>(iosEnrollmentSpec);
}
