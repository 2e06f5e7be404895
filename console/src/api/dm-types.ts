/**
 * The shapes of the device-management and application REST replies the console reads
 * (docs/DEVICE-MANAGEMENT.md; each path is checked against the OpenAPI document by console-api.test.ts).
 */

export interface DmDevice {
  id: string;
  type: string;
  name: string;
  enrolmentInfo: { status: string; ownership: string; owner: string; dateOfLastUpdate: number };
  groupIds: string[];
}

export interface DeviceType {
  name: string;
  features: { code: string; name: string; description?: string }[];
}

export interface Group {
  id: string;
  name: string;
  description?: string;
  createdAt?: number;
}

export const complianceModes = ['ENFORCE', 'WARN', 'BLOCK', 'MONITOR'] as const;
export const ownershipTypes = ['ANY', 'BYOD', 'COPE', 'WORK_PROFILE', 'COSU', 'FULLY_MANAGED', 'DEDICATED_DEVICE'] as const;
export const complianceStatuses = ['NON_COMPLIANT', 'COMPLIANT', 'PENDING'] as const;

export interface ProfileFeature {
  featureCode: string;
  content?: Record<string, unknown>;
}

export interface Policy {
  id: string;
  policyName: string;
  description?: string;
  compliance: (typeof complianceModes)[number];
  ownershipType: (typeof ownershipTypes)[number];
  active: boolean;
  updated: boolean;
  priority: number;
  version: number;
  profile: { profileName?: string; deviceType: string; profileFeaturesList: ProfileFeature[] };
  deviceIdentifiers: string[];
  deviceGroups: string[];
  published: { version: number; at: number; active: boolean } | null;
}

export interface ComplianceRecord {
  deviceType: string;
  deviceIdentifier: string;
  policyId: string;
  policyVersion: number;
  appliedAt: number;
  status: (typeof complianceStatuses)[number];
  features: { featureCode: string; compliance: boolean; message?: string }[];
  lastSucceededAt?: number;
}

export const appPlatforms = ['android', 'ios'] as const;
export type LifecycleState = 'CREATED' | 'IN-REVIEW' | 'APPROVED' | 'REJECTED' | 'PUBLISHED' | 'DEPRECATED' | 'RETIRED';

export interface Release {
  uuid: string;
  appId: string;
  platform: (typeof appPlatforms)[number];
  packageName: string;
  version: string;
  artifact?: { kind: 'uploaded' | 'url'; url?: string; fileName?: string; size?: number; sha256?: string };
  state: LifecycleState;
  lifecycle: { from: LifecycleState | null; to: LifecycleState; by: string; at: number; reason?: string }[];
}

export interface App {
  id: string;
  name: string;
  description: string;
  category?: string;
  platforms: string[];
  published: boolean;
  releases?: Release[];
}

export const subscriptionTargets = ['devices', 'group'] as const;
export const subscriptionActions = ['install', 'update', 'uninstall'] as const;

export interface Subscription {
  id: string;
  appId: string;
  releaseUuid: string;
  action: (typeof subscriptionActions)[number];
  targetType: string;
  targets: string[];
  scheduledAt: number;
  state: 'SCHEDULED' | 'RUNNING' | 'DONE' | 'FAILED' | 'CANCELLED';
  createdAt: number;
  error?: string;
}

export interface DeviceApp {
  deviceType: string;
  deviceIdentifier: string;
  packageName: string;
  version: string;
  status: string;
  updatedAt: number;
}
