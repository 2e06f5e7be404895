/**
 * Application-management records (docs/DEVICE-MANAGEMENT.md, "Applications"), after Entgra's
 * application-mgt: an enterprise app with releases per platform, each release with its own life
 * cycle; subscriptions (install, update, uninstall to devices, users, roles or groups, now or
 * later); and the applications each device has. Plain JSON through the store port, epoch ms.
 */

export const appPlatforms = ['android', 'ios'] as const;
export type AppPlatform = (typeof appPlatforms)[number];

export const lifecycleStates = ['CREATED', 'IN-REVIEW', 'APPROVED', 'REJECTED', 'PUBLISHED', 'DEPRECATED', 'RETIRED'] as const;
export type LifecycleState = (typeof lifecycleStates)[number];

/** One change of a release's life-cycle state: who, when, why. */
export interface LifecycleTransition {
  from: LifecycleState | null;
  to: LifecycleState;
  by: string;
  at: number;
  reason?: string;
}

/** The installable file of a release: uploaded (stored under the data directory) or at an https URL. */
export interface ReleaseArtifact {
  /** An uploaded file's name on disk is the release uuid; an external artifact has a URL instead. */
  kind: 'uploaded' | 'url';
  url?: string;
  fileName?: string;
  size?: number;
  sha256?: string;
}

export interface ReleaseRecord {
  /** Release id (Entgra's release uuid). */
  uuid: string;
  appId: string;
  orgId: string;
  platform: AppPlatform;
  /** Android package name or iOS bundle identifier. */
  packageName: string;
  version: string;
  description?: string;
  artifact?: ReleaseArtifact;
  state: LifecycleState;
  lifecycle: LifecycleTransition[];
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

export interface AppRecord {
  id: string;
  orgId: string;
  name: string;
  description: string;
  category?: string;
  tags: string[];
  createdBy: string;
  createdAt: number;
  /** The platforms it has releases for, and whether any release is published (for store listings). */
  platforms: AppPlatform[];
  published: boolean;
  /** The platforms it has a published release for (the store filters on these). */
  publishedPlatforms: AppPlatform[];
}

export const subscriptionActions = ['install', 'update', 'uninstall'] as const;
export type SubscriptionAction = (typeof subscriptionActions)[number];

export const subscriptionTargets = ['devices', 'user', 'role', 'group'] as const;
export type SubscriptionTarget = (typeof subscriptionTargets)[number];

export type SubscriptionState = 'SCHEDULED' | 'RUNNING' | 'DONE' | 'FAILED' | 'CANCELLED';

/** One install / update / uninstall request, run now or at its scheduled time (a stored schedule). */
export interface SubscriptionRecord {
  id: string;
  orgId: string;
  appId: string;
  releaseUuid: string;
  platform: AppPlatform;
  action: SubscriptionAction;
  targetType: SubscriptionTarget;
  /** Device identifiers (targetType devices), user names, role names or group ids. */
  targets: string[];
  scheduledAt: number;
  state: SubscriptionState;
  createdBy: string;
  createdAt: number;
  /**
   * When a node took the run (state RUNNING). A run still RUNNING a lease later belonged to a node
   * that died: another node finishes it (docs/DEVICE-MANAGEMENT.md, "Applications").
   */
  claimedAt?: number;
  /** Chosen when the run is claimed, before anything is dispatched, so a resumed run reuses it. */
  activityId?: string;
  doneAt?: number;
  error?: string;
}

export type DeviceAppStatus = 'INSTALL_PENDING' | 'INSTALLED' | 'INSTALL_FAILED' | 'UNINSTALL_PENDING' | 'UNINSTALLED' | 'UNINSTALL_FAILED';

/** An application on one device, as the hub last asked for it and the device answered. */
export interface DeviceAppRecord {
  /** `${deviceId}:${appId}`: a device has one release of an app at a time. */
  id: string;
  orgId: string;
  /** The device-management device id (DeviceRecord.id) and its identifier within its type. */
  deviceId: string;
  deviceType: string;
  deviceIdentifier: string;
  appId: string;
  releaseUuid: string;
  packageName: string;
  version: string;
  status: DeviceAppStatus;
  /** The operation (command id) whose answer settles the pending status. */
  commandId: string;
  subscriptionId: string;
  updatedAt: number;
  /** The device's answer when it failed. */
  error?: unknown;
}
