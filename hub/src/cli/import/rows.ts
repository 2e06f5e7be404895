import { i18nSchema, keySchema, tagsSchema, timezoneSchema } from '@edgehub/shared';
import type { NewDevice } from '../../registry/devices.js';
import { isKnownTimezone } from '../../registry/timezone.js';
import { isBlank, type CsvRecord } from '../csv.js';
import { UsageError } from '../errors.js';

/**
 * The device-import CSV: a header row naming the columns, then one device per row.
 *   productKey  (optional with --product)   deviceKey  (optional: generated)
 *   deviceName  (required)                  timezone   (optional: +08:00)
 *   deviceDesc  (optional)                  tag:<key>  (optional, one column per tag; empty = no tag)
 * Rows are checked here against the hub's own request schema: batchCreate validates its whole
 * body, so one bad row sent would fail the other 999 of its batch.
 */

export const DEFAULT_TIMEZONE = '+08:00';
const FIELDS = ['productKey', 'deviceKey', 'deviceName', 'timezone', 'deviceDesc'] as const;
type Field = (typeof FIELDS)[number];
export type Column = { kind: 'field'; field: Field } | { kind: 'tag'; key: string };

const keyPattern = new RegExp(keySchema.pattern);
const timezonePattern = new RegExp(timezoneSchema.pattern);
const tagKeyPattern = new RegExp(tagsSchema.propertyNames.pattern);
const NAME_MAX = i18nSchema.properties.defaultValue.maxLength;
const DESC_MAX = 1024; // devices.routes.ts newDeviceSchema
const TAG_VALUE_MAX = tagsSchema.additionalProperties.maxLength;

export interface ImportRow {
  line: number;
  device: NewDevice;
}

export interface RowFailure {
  line: number;
  /** The hub's error code, when the hub refused the row. */
  code?: number;
  msg: string;
}

export interface PreparedImport {
  rows: ImportRow[];
  failures: RowFailure[];
  /** Data rows in the file (blank lines not counted). */
  total: number;
}

export interface ImportDefaults {
  productKey?: string;
  timezone?: string;
}

export function readHeader(fields: readonly string[], defaults: ImportDefaults = {}): Column[] {
  const seen = new Set<string>();
  const columns = fields.map((raw): Column => {
    const name = raw.trim();
    const tag = /^tag:(.*)$/i.exec(name);
    const column: Column | undefined = tag ? { kind: 'tag', key: tag[1]!.trim() } : fieldNamed(name);
    if (!column) throw new UsageError(`unknown column '${name}' in the header; expected ${FIELDS.join(', ')} or tag:<key>`);
    if (column.kind === 'tag' && !tagKeyPattern.test(column.key))
      throw new UsageError(`column '${name}': a tag key is 1–50 of A-Z a-z 0-9 _ - /`);
    const id = column.kind === 'tag' ? `tag:${column.key}` : column.field;
    if (seen.has(id)) throw new UsageError(`column '${name}' appears twice in the header`);
    seen.add(id);
    return column;
  });
  if (!seen.has('deviceName')) throw new UsageError('the header has no deviceName column');
  if (!seen.has('productKey') && defaults.productKey === undefined)
    throw new UsageError('the header has no productKey column; add one or give --product');
  const tagColumns = columns.filter((c) => c.kind === 'tag').length;
  if (tagColumns > tagsSchema.maxProperties)
    throw new UsageError(`${tagColumns} tag columns; a device has at most ${tagsSchema.maxProperties} tags`);
  return columns;
}

function fieldNamed(name: string): Column | undefined {
  const field = FIELDS.find((f) => f.toLowerCase() === name.toLowerCase());
  return field && { kind: 'field', field };
}

/** Turns CSV records (the first one the header) into devices to create and rows that cannot be. */
export function prepareImport(records: readonly CsvRecord[], defaults: ImportDefaults = {}): PreparedImport {
  const [header, ...data] = records;
  if (!header) throw new UsageError('the file is empty');
  const columns = readHeader(header.fields, defaults);
  const rows: ImportRow[] = [];
  const failures: RowFailure[] = [];
  const firstLineOf = new Map<string, number>();
  let total = 0;
  for (const record of data) {
    if (isBlank(record)) continue;
    total++;
    const result = toDevice(record, columns, defaults);
    if (typeof result === 'string') {
      failures.push({ line: record.line, msg: result });
      continue;
    }
    // The hub would refuse the second one too; saying which line it repeats is more useful.
    if (result.deviceKey !== undefined) {
      const id = `${result.productKey}\u0000${result.deviceKey}`;
      const first = firstLineOf.get(id);
      if (first !== undefined) {
        failures.push({ line: record.line, msg: `deviceKey ${result.deviceKey} repeats line ${first}` });
        continue;
      }
      firstLineOf.set(id, record.line);
    }
    rows.push({ line: record.line, device: result });
  }
  return { rows, failures, total };
}

/** The device of one row, or why it cannot be created. */
export function toDevice(record: CsvRecord, columns: readonly Column[], defaults: ImportDefaults = {}): NewDevice | string {
  if (record.fields.length !== columns.length) return `${record.fields.length} fields, but the header has ${columns.length}`;
  const values: Partial<Record<Field, string>> = {};
  const deviceTags: Record<string, string> = {};
  for (const [i, column] of columns.entries()) {
    const v = record.fields[i]!.trim();
    if (column.kind === 'field') values[column.field] = v;
    else if (v !== '') {
      if (v.length > TAG_VALUE_MAX) return `tag ${column.key}: longer than ${TAG_VALUE_MAX} characters`;
      deviceTags[column.key] = v;
    }
  }

  const productKey = values.productKey || defaults.productKey;
  if (!productKey) return 'productKey is empty (and no --product given)';
  if (!isKey(productKey)) return `productKey '${productKey}' is not a key (1–64 of A-Z a-z 0-9 _ - .)`;
  const name = values.deviceName;
  if (!name) return 'deviceName is empty';
  if (name.length > NAME_MAX) return `deviceName is longer than ${NAME_MAX} characters`;
  const timezone = values.timezone || defaults.timezone || DEFAULT_TIMEZONE;
  if (timezone.length > timezoneSchema.maxLength || !timezonePattern.test(timezone) || !isKnownTimezone(timezone))
    return `timezone '${timezone}' is neither an offset like +08:00 nor a zone like Asia/Shanghai`;

  const device: NewDevice = { productKey, deviceName: { defaultValue: name }, timezone };
  if (values.deviceKey) {
    if (!isKey(values.deviceKey)) return `deviceKey '${values.deviceKey}' is not a key (1–64 of A-Z a-z 0-9 _ - .)`;
    device.deviceKey = values.deviceKey;
  }
  if (values.deviceDesc) {
    if (values.deviceDesc.length > DESC_MAX) return `deviceDesc is longer than ${DESC_MAX} characters`;
    device.deviceDesc = values.deviceDesc;
  }
  if (Object.keys(deviceTags).length > 0) device.deviceTags = deviceTags;
  return device;
}

function isKey(s: string): boolean {
  return s.length <= keySchema.maxLength && keyPattern.test(s);
}
