/**
 * Device-management records (docs/DEVICE-MANAGEMENT.md, "Data model"), after Entgra's Device /
 * EnrolmentInfo / DeviceGroup / Activity. Stored through the store port: plain JSON, epoch ms.
 */

export const ownerships = ['BYOD', 'COPE', 'WORK_PROFILE', 'COSU', 'FULLY_MANAGED', 'DEDICATED_DEVICE'] as const;
export type Ownership = (typeof ownerships)[number];

export const enrolmentStatuses = ['CREATED', 'ACTIVE', 'INACTIVE', 'UNREACHABLE', 'BLOCKED', 'REMOVED', 'DISENROLLMENT_REQUESTED'] as const;
export type EnrolmentStatus = (typeof enrolmentStatuses)[number];

/** The push credentials a device registered (Apple TokenUpdate, an FCM token, a WNS channel URI). */
export interface DevicePushToken {
  token: string;
  extra: Record<string, string>;
  updatedAt: number;
  /** Set when the push service said the token is dead (APNs 410): no wakes until a new token. */
  invalidSince?: number;
}

export interface DeviceRecord {
  /** Our id for the enrolled device (also the command records' assetId). */
  id: string;
  orgId: string;
  /** Device type id: 'ios', 'android', … */
  type: string;
  /** The device's own identifier within its type (Apple UDID or EnrollmentID, Android IMEI/ANDROID_ID). */
  deviceIdentifier: string;
  name: string;
  description?: string;
  owner: string;
  ownership: Ownership;
  status: EnrolmentStatus;
  dateOfEnrolment: number;
  dateOfLastUpdate: number;
  lastSeenAt?: number;
  properties: Record<string, string>;
  groupIds: string[];
  push?: DevicePushToken;
}

export interface GroupRecord {
  id: string;
  orgId: string;
  name: string;
  description: string;
  owner: string;
  createdAt: number;
}

/** One operation sent to one or many devices (Entgra Activity; id ACTIVITY_<n>). */
export interface ActivityRecord {
  activityId: string;
  orgId: string;
  code: string;
  type: 'COMMAND' | 'PROFILE' | 'CONFIG' | 'INFO' | 'MESSAGE' | 'POLICY';
  payload: Record<string, unknown>;
  initiatedBy: string;
  createdAt: number;
  /** The command ids it created, one per device. */
  commandIds: string[];
  /** Identifiers that named no device of the organization (shown as INVALID). */
  invalid?: { id: string; reason: string }[];
}

/** A device as seen by a device-type plugin at its device-facing routes. */
export interface EnrollInput {
  orgId: string;
  type: string;
  deviceIdentifier: string;
  name?: string;
  description?: string;
  owner: string;
  ownership?: Ownership;
  properties?: Record<string, string>;
}
