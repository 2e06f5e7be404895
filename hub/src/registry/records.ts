/**
 * Registry records as stored. Plain JSON: timestamps are epoch milliseconds.
 * Field names follow the EnOS Connection Service structs (docs/ENOS-PROTOCOL.md §7.3).
 */
import type { ThingModel } from './thing-model.js';

export interface StringI18n {
  defaultValue: string;
  i18nValue?: Record<string, string>;
}

export interface OrganizationRecord {
  orgId: string;
  name: string;
  description?: string;
  createTime: number;
}

/** An application owns exactly one service account (accessKey + accessSecret). */
export interface ApplicationRecord {
  appId: string;
  name: string;
  /** The organization that owns the application. */
  orgId: string;
  accessKey: string;
  /** Kept because the apim signature is a digest over it (§7.2); never logged, never returned after creation. */
  accessSecret: string;
  /** Administrator applications may call the /admin API. */
  admin: boolean;
  createTime: number;
}

/** An application acts in an organization only where it is registered. */
export interface RegistrationRecord {
  id: string;
  orgId: string;
  appId: string;
  createTime: number;
}

export type ProductType = 'Device' | 'Gateway';
export type DataFormat = 'Json' | 'Custom';

export interface ProductRecord {
  productKey: string;
  orgId: string;
  productName: StringI18n;
  productDesc?: string;
  productType: ProductType;
  dataFormat: DataFormat;
  productSecret: string;
  productTags: Record<string, string>;
  modelId?: string;
  thingModel: ThingModel;
  biDirectionalAuth: boolean;
  dynamicActivateEnabled: boolean;
  /** Certificate validity in days: default when a request names none, and the maximum allowed. */
  defaultValidDay: number;
  maxValidDay: number;
  createBy: string;
  createTime: number;
  updateBy: string;
  updateTime: number;
}

export type DeviceStatus = 'inactive' | 'online' | 'offline' | 'disabled';

export interface DeviceRecord {
  assetId: string;
  orgId: string;
  productKey: string;
  productType: ProductType;
  deviceKey: string;
  deviceSecret: string;
  deviceName: StringI18n;
  deviceDesc?: string;
  timezone: string;
  deviceAttributes: Record<string, unknown>;
  deviceTags: Record<string, string>;
  status: DeviceStatus;
  activeTime?: number;
  lastOnlineTime?: number;
  lastOfflineTime?: number;
  /** The gateway a sub-device belongs to (topology); at most one. */
  gatewayAssetId?: string;
  createBy: string;
  createTime: number;
  updateTime: number;
}
