import { keyValues, table, tags, time, type Column } from './output.js';

/** The fields of the Connection Service structs the CLI shows (docs/ENOS-PROTOCOL.md §7.3). */
interface I18n {
  defaultValue: string;
  i18nValue?: Record<string, string>;
}

export interface ProductView {
  productKey: string;
  productName: I18n;
  productDesc?: string | null;
  productType: string;
  dataFormat: string;
  productSecret?: string;
  productTags?: Record<string, string>;
  modelId?: string | null;
  thingModel?: Record<string, Record<string, unknown> | undefined>;
  biDirectionalAuth: boolean;
  dynamicActivateEnabled: boolean;
  createTime: number;
  updateTime?: number;
}

export interface DeviceView {
  assetId: string;
  productKey: string;
  productName?: I18n | null;
  productType?: string;
  deviceKey: string;
  deviceName: I18n;
  deviceSecret?: string;
  deviceDesc?: string | null;
  timezone: string;
  deviceTags?: Record<string, string>;
  deviceAttributes?: Record<string, unknown>;
  status: string;
  createTime: number;
  activeTime?: number | null;
  lastOnlineTime?: number | null;
  lastOfflineTime?: number | null;
  gatewayAssetId?: string | null;
}

export interface CreatedDevice {
  assetId: string;
  productKey: string;
  deviceKey: string;
  deviceSecret: string;
}

const HIDDEN = '(hidden; add --show-secret)';

/** Drops a secret field unless asked for: results are often pasted into tickets and chats. */
export function withoutSecret<T extends object, K extends keyof T>(item: T, field: K, show: boolean): T {
  if (show) return item;
  const copy = { ...item };
  delete copy[field];
  return copy;
}

export function productDetails(p: ProductView, showSecret: boolean): string {
  const tm = p.thingModel ?? {};
  const model = ['measurepoints', 'attributes', 'events', 'services'].map((k) => `${Object.keys(tm[k] ?? {}).length} ${k}`).join(', ');
  return keyValues([
    ['productKey', p.productKey],
    ['productName', p.productName.defaultValue],
    ['productType', p.productType],
    ['dataFormat', p.dataFormat],
    ['biDirectionalAuth', p.biDirectionalAuth],
    ['dynamicActivate', p.dynamicActivateEnabled],
    ['productSecret', showSecret ? p.productSecret : HIDDEN],
    ['productDesc', p.productDesc],
    ['modelId', p.modelId],
    ['productTags', tags(p.productTags)],
    ['thingModel', model],
    ['createTime', time(p.createTime)],
    ['updateTime', time(p.updateTime)],
  ]);
}

export function productTable(items: readonly ProductView[]): string {
  return table(items, [
    { header: 'PRODUCT KEY', value: (p) => p.productKey },
    { header: 'TYPE', value: (p) => p.productType },
    { header: 'FORMAT', value: (p) => p.dataFormat },
    { header: 'BI-AUTH', value: (p) => (p.biDirectionalAuth ? 'yes' : 'no') },
    { header: 'DYNAMIC', value: (p) => (p.dynamicActivateEnabled ? 'yes' : 'no') },
    { header: 'CREATED', value: (p) => time(p.createTime) },
    { header: 'NAME', value: (p) => p.productName.defaultValue },
  ]);
}

export function deviceDetails(d: DeviceView, showSecret: boolean): string {
  return keyValues([
    ['assetId', d.assetId],
    ['productKey', d.productKey],
    ['productName', d.productName?.defaultValue],
    ['deviceKey', d.deviceKey],
    ['deviceName', d.deviceName.defaultValue],
    ['deviceSecret', showSecret ? d.deviceSecret : HIDDEN],
    ['status', d.status],
    ['timezone', d.timezone],
    ['deviceDesc', d.deviceDesc],
    ['deviceTags', tags(d.deviceTags)],
    ['deviceAttributes', Object.keys(d.deviceAttributes ?? {}).length > 0 ? d.deviceAttributes : undefined],
    ['gateway', d.gatewayAssetId],
    ['createTime', time(d.createTime)],
    ['activeTime', time(d.activeTime)],
    ['lastOnlineTime', time(d.lastOnlineTime)],
    ['lastOfflineTime', time(d.lastOfflineTime)],
  ]);
}

export function deviceTable(items: readonly DeviceView[], showSecret = false): string {
  const secret: Column<DeviceView>[] = showSecret ? [{ header: 'DEVICE SECRET', value: (d) => d.deviceSecret }] : [];
  return table(items, [
    { header: 'ASSET ID', value: (d) => d.assetId },
    { header: 'PRODUCT KEY', value: (d) => d.productKey },
    { header: 'DEVICE KEY', value: (d) => d.deviceKey },
    ...secret,
    { header: 'STATUS', value: (d) => d.status },
    { header: 'TIMEZONE', value: (d) => d.timezone },
    { header: 'LAST ONLINE', value: (d) => time(d.lastOnlineTime) },
    // Last: a long name then never pushes the other columns apart.
    { header: 'NAME', value: (d) => d.deviceName.defaultValue },
  ]);
}

export function tripleDetails(t: CreatedDevice): string {
  return keyValues([
    ['assetId', t.assetId],
    ['productKey', t.productKey],
    ['deviceKey', t.deviceKey],
    ['deviceSecret', t.deviceSecret],
  ]);
}

/** The footer of a listing page, for stderr. */
export function pageFooter(p: { pageNo: number; pageSize: number; totalSize: number } | undefined, shown: number, noun: string): string {
  if (!p) return `${shown} ${noun}`;
  const pages = Math.max(1, Math.ceil(p.totalSize / p.pageSize));
  return `page ${p.pageNo} of ${pages}: ${shown} of ${p.totalSize} ${noun}`;
}
