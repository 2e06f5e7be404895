import { EnosError, codes, signMethodAlgo, subDeviceSignMethodLabel, verifySubDeviceSign } from '@edgehub/shared';
import type { UpstreamRequest } from './context.js';

/**
 * What the gateway handlers (topo, register, combine) share: the "is this a gateway" check, readers
 * that never trust the shape of `params`, and the sub-device sign check of docs/ENOS-PROTOCOL.md §5.1–§5.3.
 */

/** Builds the error a malformed field is refused with; each topic family has its own code. */
export type Fail = (message: string) => EnosError;

export type Fields = Readonly<Record<string, unknown>>;

/**
 * Only a gateway acting for itself may use the gateway topics. A `/sys/{subPk}/{subDk}/…` topic of a
 * logged-in sub-device passes the ACL too, but a sub-device is never a gateway (topology refuses it).
 */
export function requireGateway(req: UpstreamRequest, fail: Fail = notAGateway): void {
  const { session, target } = req;
  const self = target.productKey === session.device.productKey && target.deviceKey === session.device.deviceKey;
  if (!self || session.device.productType !== 'Gateway') throw fail(`${target.productKey}&${target.deviceKey} is not a gateway`);
}

/** 1200 "not a gateway" (documented for thing.topo.get, §4.1); used for register and combine.* too. */
export const notAGateway: Fail = (message) => new EnosError(codes.notGatewayMqtt, `Device ${message}`);

export function objectOf(value: unknown, what: string, fail: Fail): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`${what} must be a JSON object`);
  return value as Fields;
}

export function nonEmptyArrayOf(value: unknown, what: string, fail: Fail): unknown[] {
  if (!Array.isArray(value) || value.length === 0) throw fail(`${what} must be a non-empty array`);
  return value;
}

export function requiredString(obj: Fields, field: string, what: string, fail: Fail): string {
  const v = obj[field];
  if (typeof v !== 'string' || v === '') throw fail(`${what}.${field} must be a non-empty string`);
  return v;
}

export function optionalString(obj: Fields, field: string, what: string, fail: Fail): string | undefined {
  const v = obj[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw fail(`${what}.${field} must be a string`);
  return v;
}

/** Opaque, never checked for freshness (§0.4); the Node SDK sends a JSON number (§12). */
export function timestampOf(obj: Fields, field: string, what: string, fail: Fail): string | number {
  const v = obj[field];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v !== '') return v;
  throw fail(`${what}.${field} must be a non-empty string or a number`);
}

/** `signMethod` (Java, Node) or `signmethod` (C, docs), any case (§5.1). Required: every SDK sends it. */
export function signMethodOf(obj: Fields, what: string, fail: Fail): string {
  const label = subDeviceSignMethodLabel(obj);
  if (label === undefined || label.trim() === '') throw fail(`${what}.signMethod must be a non-empty string`);
  return label;
}

/** `cleanSession` is optional: "true" from Java and C, absent from Node (§5.2). */
export function cleanSessionOf(obj: Fields, what: string, fail: Fail): string | boolean | undefined {
  const v = obj['cleanSession'];
  if (v === undefined || typeof v === 'string' || typeof v === 'boolean') return v;
  throw fail(`${what}.cleanSession must be a string or a boolean`);
}

/** What a gateway signs for one sub-device: 4 fields + the secret (§0.7, §5.1). */
export interface SubDeviceSign {
  productKey: string;
  deviceKey: string;
  clientId: string;
  timestamp: string | number;
  sign: string;
  signMethod: string;
  cleanSession?: string | boolean | undefined;
}

export const SIGN_MISMATCH = 'sign check failed';

/** Why a sub-device sign is refused, or undefined when it verifies against the secret. */
export function subDeviceSignProblem(s: SubDeviceSign, secret: string): string | undefined {
  const algo = signMethodAlgo(s.signMethod);
  if (!algo) return `unsupported signMethod ${s.signMethod}`;
  const fields = {
    clientId: s.clientId,
    deviceKey: s.deviceKey,
    productKey: s.productKey,
    timestamp: s.timestamp,
    cleanSession: s.cleanSession,
  };
  // The 5-field form of DOC-EN connect_subdevices.md is accepted too; no SDK sends it (§5.2).
  return verifySubDeviceSign(fields, s.sign, secret, algo, { allowCleanSessionForm: true }) ? undefined : SIGN_MISMATCH;
}
