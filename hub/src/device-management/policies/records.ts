import type { Ownership } from '../records.js';

/**
 * Policy records (docs/DEVICE-MANAGEMENT.md, "Policies"), after Entgra's Policy / Profile /
 * ProfileFeature and its compliance tables. Stored through the store port: plain JSON, epoch ms.
 */

export const complianceModes = ['ENFORCE', 'WARN', 'BLOCK', 'MONITOR'] as const;
/** What a non-compliant device gets: ENFORCE the corrective operation, BLOCK a blocked enrolment, WARN and MONITOR a record only. */
export type ComplianceMode = (typeof complianceModes)[number];

/** One feature of a policy's profile: an operation code of the device type and its settings. */
export interface ProfileFeature {
  featureCode: string;
  content: Record<string, unknown>;
}

/** Who a policy applies to; a device matches when any list names it (its id, a group, its owner, a role of it). */
export interface PolicyAssignment {
  deviceIdentifiers: string[];
  deviceGroups: string[];
  users: string[];
  roles: string[];
}

export interface PolicyRecord {
  id: string;
  orgId: string;
  policyName: string;
  description: string;
  /** The device type of the profile: a policy speaks one type's features. */
  deviceType: string;
  profile: { profileName: string; features: ProfileFeature[] };
  compliance: ComplianceMode;
  /** Ownership the devices must have, or ANY. */
  ownershipType: Ownership | 'ANY';
  assignment: PolicyAssignment;
  /** 1 is the highest; unique within the organization and device type. */
  priority: number;
  active: boolean;
  /** Changed (content, activation, priority) since the last apply-changes: devices still have the old state. */
  updated: boolean;
  /** Increased by every change of what devices receive; a device holding an older version gets the new bundle. */
  version: number;
  createdAt: number;
  updatedAt: number;
  /** What apply-changes published last (absent: never published; devices do not see it). */
  published?: PublishedPolicy;
}

/** The copy of a policy devices are measured against, frozen at apply-changes. */
export interface PublishedPolicy {
  version: number;
  at: number;
  active: boolean;
  priority: number;
  compliance: ComplianceMode;
  ownershipType: Ownership | 'ANY';
  assignment: PolicyAssignment;
  features: ProfileFeature[];
  policyName: string;
}

export type ComplianceStatus = 'PENDING' | 'COMPLIANT' | 'NON_COMPLIANT';

export interface ComplianceFeature {
  featureCode: string;
  compliance: boolean;
  message?: string;
}

/** One per device holding an applied policy (Entgra DM_DEVICE_POLICY_APPLIED + DM_POLICY_COMPLIANCE_STATUS). */
export interface ComplianceRecord {
  /** The device-management device id (DeviceRecord.id). */
  deviceId: string;
  orgId: string;
  deviceType: string;
  deviceIdentifier: string;
  policyId: string;
  policyVersion: number;
  appliedAt: number;
  /** The command that carried the policy bundle (POLICY_BUNDLE / InstallProfile). */
  bundleCommandId?: string;
  status: ComplianceStatus;
  features: ComplianceFeature[];
  /** The MONITOR command whose answer the next run evaluates. */
  monitorCommandId?: string;
  lastRequestedAt?: number;
  lastSucceededAt?: number;
  lastFailedAt?: number;
  /** Monitoring requests without an answer in a row. */
  attempts: number;
  /** The last corrective operation (ENFORCE); no second one while it is still open. */
  correctiveCommandId?: string;
  updatedAt: number;
}

/** A non-compliance notification an operator can list (Entgra DM_NOTIFICATION). */
export interface PolicyNotificationRecord {
  id: string;
  orgId: string;
  deviceId: string;
  deviceType: string;
  deviceIdentifier: string;
  policyId: string;
  compliance: ComplianceMode;
  status: 'NEW' | 'CHECKED';
  description: string;
  features: ComplianceFeature[];
  createdAt: number;
}

/** The stored monitoring schedule: when the next run is due (survives restarts, one winner in a cluster). */
export interface MonitorScheduleRecord {
  id: 'policy-monitor';
  nextRunAt: number;
  lastRunAt?: number;
}
