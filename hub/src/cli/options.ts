import { InvalidArgumentError } from 'commander';
import { UsageError } from './errors.js';

/** A commander argParser for an integer in [min, max]. */
export function intIn(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** A commander argParser collecting repeated `--tag k=v` into a record. */
export function collectTag(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got '${value}'`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** An expression string literal; the hub's parser reads a doubled quote as one (SQL style). */
export function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export interface DeviceRefOptions {
  assetId?: string;
  product?: string;
  key?: string;
}

/** The query that addresses one device: `assetId`, or `productKey` + `deviceKey` (docs/ENOS-PROTOCOL.md §7.3). */
export function deviceRef(o: DeviceRefOptions): Record<string, string> {
  if (o.assetId !== undefined) {
    if (o.product !== undefined || o.key !== undefined) throw new UsageError('give either --asset-id or --product with --key, not both');
    return { assetId: o.assetId };
  }
  if (o.product !== undefined && o.key !== undefined) return { productKey: o.product, deviceKey: o.key };
  throw new UsageError('name the device with --asset-id <id> or with --product <productKey> --key <deviceKey>');
}

/** How a device reference reads in messages. */
export function describeRef(ref: Record<string, string>): string {
  return ref['assetId'] ?? `${ref['productKey']}/${ref['deviceKey']}`;
}

/** A device on the command line: `productKey/deviceKey`, or an assetId. */
export function deviceArg(value: string): Record<string, string> {
  const slash = value.indexOf('/');
  if (slash < 0) {
    if (value === '') throw new UsageError('a device is productKey/deviceKey or an assetId, got an empty string');
    return { assetId: value };
  }
  const productKey = value.slice(0, slash);
  const deviceKey = value.slice(slash + 1);
  if (!productKey || !deviceKey || deviceKey.includes('/'))
    throw new UsageError(`a device is productKey/deviceKey or an assetId, got '${value}'`);
  return { productKey, deviceKey };
}

/**
 * The device a command names, in either style: an argument (`productKey/deviceKey` or an assetId,
 * as `product get <productKey>` takes its key) or the options `--asset-id`, `--product --key`.
 */
export function deviceFrom(arg: string | undefined, o: DeviceRefOptions): Record<string, string> {
  if (arg === undefined) return deviceRef(o);
  if (o.assetId !== undefined || o.product !== undefined || o.key !== undefined)
    throw new UsageError('name the device once: as an argument, or with --asset-id / --product --key');
  return deviceArg(arg);
}
