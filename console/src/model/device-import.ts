import { parseCsv } from '../../../hub/src/cli/csv.js';

/**
 * The device-import CSV of `edgehub device import` (docs/CONSOLE.md): a header naming the columns
 * productKey, deviceKey, deviceName, timezone, deviceDesc and tag:<key>, then one device per line.
 * The same CSV dialect as the CLI (hub/src/cli/csv.ts); each line is checked here before it is sent,
 * because batchCreate refuses a whole batch for one malformed entry.
 */
export interface NewDevice {
  productKey: string;
  deviceKey?: string;
  deviceName: { defaultValue: string };
  timezone: string;
  deviceDesc?: string;
  deviceTags?: Record<string, string>;
}

export interface ImportLine {
  line: number;
  device: NewDevice;
}

export interface LineError {
  line: number;
  message: string;
}

const FIELDS = ['productKey', 'deviceKey', 'deviceName', 'timezone', 'deviceDesc'] as const;
type Column = { field: (typeof FIELDS)[number] } | { tag: string };
const KEY = /^[A-Za-z0-9_\-.]{1,64}$/;
const TIMEZONE = /^([+-](0\d|1[0-4]):[0-5]\d|[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*)$/;
const TAG_KEY = /^[A-Za-z0-9_\-/]{1,50}$/;

export function prepareImport(text: string, defaultProductKey: string): { lines: ImportLine[]; errors: LineError[]; total: number } {
  const records = parseCsv(text);
  const [header, ...data] = records;
  if (!header) throw new Error('The file is empty');
  const columns = header.fields.map((raw): Column => {
    const name = raw.trim();
    const tag = /^tag:(.+)$/i.exec(name);
    if (tag) {
      if (!TAG_KEY.test(tag[1]!.trim())) throw new Error(`Column ${name}: a tag key is 1–50 of A-Z a-z 0-9 _ - /`);
      return { tag: tag[1]!.trim() };
    }
    const field = FIELDS.find((f) => f.toLowerCase() === name.toLowerCase());
    if (!field) throw new Error(`Unknown column '${name}' in the header; expected ${FIELDS.join(', ')} or tag:<key>`);
    return { field };
  });
  if (!columns.some((c) => 'field' in c && c.field === 'deviceName')) throw new Error('The header has no deviceName column');

  const lines: ImportLine[] = [];
  const errors: LineError[] = [];
  const seen = new Map<string, number>();
  let total = 0;
  for (const r of data) {
    if (r.fields.every((f) => f.trim() === '')) continue;
    total++;
    const result = toDevice(r.fields, columns, defaultProductKey);
    if (typeof result === 'string') {
      errors.push({ line: r.line, message: result });
      continue;
    }
    if (result.deviceKey) {
      const id = `${result.productKey}/${result.deviceKey}`;
      const first = seen.get(id);
      if (first !== undefined) {
        errors.push({ line: r.line, message: `deviceKey ${result.deviceKey} repeats line ${first}` });
        continue;
      }
      seen.set(id, r.line);
    }
    lines.push({ line: r.line, device: result });
  }
  return { lines, errors, total };
}

function toDevice(fields: string[], columns: Column[], defaultProductKey: string): NewDevice | string {
  if (fields.length !== columns.length) return `${fields.length} fields, but the header has ${columns.length}`;
  const v: Partial<Record<(typeof FIELDS)[number], string>> = {};
  const tags: Record<string, string> = {};
  columns.forEach((c, i) => {
    const value = fields[i]!.trim();
    if ('field' in c) v[c.field] = value;
    else if (value) tags[c.tag] = value;
  });
  const productKey = v.productKey || defaultProductKey;
  if (!productKey) return 'productKey is empty and no product is chosen';
  if (!KEY.test(productKey)) return `productKey '${productKey}' is not a key (1–64 of A-Z a-z 0-9 _ - .)`;
  if (!v.deviceName) return 'deviceName is empty';
  if (v.deviceName.length > 256) return 'deviceName is longer than 256 characters';
  const timezone = v.timezone || '+08:00';
  if (timezone.length > 64 || !TIMEZONE.test(timezone))
    return `timezone '${timezone}' is neither an offset like +08:00 nor a zone like Asia/Shanghai`;
  const device: NewDevice = { productKey, deviceName: { defaultValue: v.deviceName }, timezone };
  if (v.deviceKey) {
    if (!KEY.test(v.deviceKey)) return `deviceKey '${v.deviceKey}' is not a key (1–64 of A-Z a-z 0-9 _ - .)`;
    device.deviceKey = v.deviceKey;
  }
  if (v.deviceDesc) {
    if (v.deviceDesc.length > 1024) return 'deviceDesc is longer than 1024 characters';
    device.deviceDesc = v.deviceDesc;
  }
  for (const [k, t] of Object.entries(tags)) if (t.length > 200) return `tag ${k}: longer than 200 characters`;
  if (Object.keys(tags).length) device.deviceTags = tags;
  return device;
}
