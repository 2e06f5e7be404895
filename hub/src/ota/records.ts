import type { CollectionSpec } from '../store/port.js';

/** OTA records (docs/PROTOCOL.md §7.3). */

export type SignMethod = 'md5' | 'sha256';

export interface FirmwareRecord {
  firmwareId: string;
  orgId: string;
  productKey: string;
  version: string;
  fileName: string;
  fileSize: number;
  md5: string;
  sha256: string;
  /** Which digest devices are told to verify with (`sign`/`signMethod` of ota.device.upgrade). */
  signMethod: SignMethod;
  desc?: string;
  createTime: number;
}

export type JobStatus = 'running' | 'cancelled' | 'done';

export interface JobFilter {
  /** Only devices that reported one of these versions (ota.device.inform). */
  fromVersions?: string[];
  /** Only devices carrying all of these tags. */
  tags?: Record<string, string>;
  /** Only these devices of the product. */
  deviceKeys?: string[];
}

export interface OtaJobRecord {
  jobId: string;
  orgId: string;
  productKey: string;
  firmwareId: string;
  targetVersion: string;
  name: string;
  filter: JobFilter;
  /** Devices told per minute at most (0 = all at once). */
  ratePerMinute: number;
  status: JobStatus;
  createTime: number;
  finishTime?: number;
}

/** waiting: not told yet · notified: upgrade pushed · upgrading: progress seen · then a final state. */
export type TaskStatus = 'waiting' | 'notified' | 'upgrading' | 'succeeded' | 'failed' | 'cancelled';
export const ACTIVE_TASK: TaskStatus[] = ['waiting', 'notified', 'upgrading'];

export interface TaskFailure {
  step: number;
  reason: string;
  desc?: string;
  at: number;
}

export interface OtaTaskRecord {
  taskId: string;
  jobId: string;
  orgId: string;
  assetId: string;
  productKey: string;
  deviceKey: string;
  status: TaskStatus;
  /** The version the device reported when the job was created, if any. */
  fromVersion?: string;
  /** Last reported step (0–100) or failure step (−1…−4). */
  step?: number;
  desc?: string;
  failure?: TaskFailure;
  notifiedAt?: number;
  updateTime: number;
}

export interface DeviceVersionRecord {
  assetId: string;
  orgId: string;
  productKey: string;
  version: string;
  time: number;
}

export interface OtaSetting {
  key: string;
  value: string;
}

export const otaSpecs = {
  firmwares: {
    name: 'otaFirmwares',
    key: 'firmwareId',
    unique: [{ name: 'productVersion', fields: ['productKey', 'version'] }],
    indexes: ['orgId', 'productKey'],
  },
  jobs: { name: 'otaJobs', key: 'jobId', indexes: ['orgId', 'status'] },
  tasks: { name: 'otaTasks', key: 'taskId', indexes: ['jobId', 'assetId', 'status'] },
  versions: { name: 'otaDeviceVersions', key: 'assetId', indexes: ['productKey'] },
  settings: { name: 'otaSettings', key: 'key' },
} satisfies Record<string, CollectionSpec>;

/** What the device-side failure steps mean (docs/PROTOCOL.md; EnOS OTA progress codes). */
export const failureReasons: Record<number, string> = {
  [-1]: 'upgrade failed',
  [-2]: 'download failed',
  [-3]: 'verification failed',
  [-4]: 'flashing failed',
};
