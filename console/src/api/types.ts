/** The shapes of the hub's replies the console reads (docs/PROTOCOL.md; checked by the OpenAPI test). */

export interface Envelope<T> {
  code: number;
  msg: string;
  requestId?: string;
  data: T;
  pagination?: { pageNo: number; pageSize: number; totalSize: number };
}

export type DataType = 'INT' | 'FLOAT' | 'DOUBLE' | 'STRING' | 'BOOL' | 'ENUM' | 'TIMESTAMP' | 'DATE' | 'ARRAY' | 'STRUCT';
export const dataTypes: readonly DataType[] = ['INT', 'FLOAT', 'DOUBLE', 'STRING', 'BOOL', 'ENUM', 'TIMESTAMP', 'DATE', 'ARRAY', 'STRUCT'];

export interface FieldSpec {
  dataType: DataType;
  name?: string;
  unit?: string;
  enumValues?: (string | number)[];
  maxLength?: number;
  hasQuality?: boolean;
  required?: boolean;
  itemType?: FieldSpec;
}

export interface ServiceSpec {
  name?: string;
  callType?: 'SYNC' | 'ASYNC';
  inputData?: Record<string, FieldSpec>;
  outputData?: Record<string, FieldSpec>;
}

export interface ThingModel {
  measurepoints?: Record<string, FieldSpec>;
  attributes?: Record<string, FieldSpec>;
  events?: Record<string, { name?: string; outputData?: Record<string, FieldSpec> }>;
  services?: Record<string, ServiceSpec>;
}

export interface Product {
  productKey: string;
  productName: { defaultValue: string };
  productType?: string;
  productDesc?: string;
  dataFormat?: string;
  thingModel?: ThingModel;
  createTime?: number;
}

export interface Device {
  assetId: string;
  productKey: string;
  deviceKey: string;
  deviceName: { defaultValue: string };
  productName?: { defaultValue: string };
  productType?: string;
  status?: string;
  timezone?: string;
  deviceAttributes?: Record<string, unknown>;
  deviceTags?: Record<string, string>;
  gatewayAssetId?: string;
  createTime?: number;
  activeTime?: number;
}

export interface Command {
  commandId: string;
  status: string;
  kind: 'invokeService' | 'setMeasurepoint' | 'operation';
  serviceId?: string;
  measurepointId?: string;
  inputData?: unknown;
  value?: unknown;
  createdAt: number;
  repliedAt?: number | null;
  reply?: { code: number; message: string | null; outputData: unknown } | null;
  productKey?: string;
  deviceKey?: string;
}

export interface Certificate {
  certSN: string;
  certStatus: number;
  subject?: string;
  issuer?: string;
  expireDate?: number;
  effectiveDate?: number;
  validDay?: number;
  revoker?: string;
  issueAuthority?: string;
  assetId?: string;
  productKey?: string;
  deviceKey?: string;
}

export interface HistoryPoint {
  time: number;
  value: unknown;
}

export type StreamEvent =
  | {
      type: 'measurepoints';
      assetId: string;
      productKey: string;
      deviceKey: string;
      time: number;
      measurepoints: Record<string, { value: unknown }>;
    }
  | { type: 'lifecycle'; assetId: string; productKey: string; deviceKey: string; time: number; status: string }
  | {
      type: 'event';
      assetId: string;
      productKey: string;
      deviceKey: string;
      time: number;
      eventId: string;
      values: Record<string, unknown>;
    };
