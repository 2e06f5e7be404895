import { createHash, createHmac } from 'node:crypto';
import { safeEqualHex } from './compare.js';

/**
 * Device-side signatures of the EnOS MQTT protocol (docs/ENOS-PROTOCOL.md §2.2, §5.1–§5.3)
 * and the Alibaba HMAC variant (§2.6). Pure functions, no I/O: the caller looks up secrets.
 * Timestamps are opaque strings that only have to match (§0.4): never check freshness.
 */

export type SignAlgo = 'sha256' | 'sha1' | 'md5';

/**
 * The algorithm behind a `signmethod` label. The `hmac…` labels are aliases of the plain digest
 * (§0.1); C sends mixed case (`hmacSha256`); Java treats a missing method as SHA-1 (§2.2).
 */
export function signMethodAlgo(label: string | null | undefined): SignAlgo | null {
  const n = (label ?? '').trim().toLowerCase();
  switch (n) {
    case '':
      return 'sha1';
    case 'sha256':
    case 'hmacsha256':
      return 'sha256';
    case 'sha1':
    case 'hmacsha1':
      return 'sha1';
    case 'md5':
    case 'hmacmd5':
      return 'md5';
    default:
      return null;
  }
}

/**
 * EnOS sign: keys in plain code-unit order (Java `Arrays.sort` on strings), key+value with no
 * separators, the secret appended, a plain digest. Lowercase hex; compare case-insensitively (§0.2).
 */
export function enosSign(params: Readonly<Record<string, string>>, secret: string, algo: SignAlgo): string {
  const keys = Object.keys(params).sort(codeUnitOrder);
  let content = '';
  for (const k of keys) content += k + params[k];
  return createHash(algo)
    .update(content + secret, 'utf8')
    .digest('hex');
}

function codeUnitOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// CONNECT (§2.2)

export interface ParsedClientId {
  /** Everything before the first `|`, verbatim (with any `{…}` block): the signature covers it. */
  clientId: string;
  /** The `k=v,…` section between the first and second `|`; keys lowercased, keys and values trimmed. */
  ext: Record<string, string>;
  /** The trailing `{ip=…,version=…,compress=…}` block of the new Java SDK (§0.3, §2.4); keys lowercased. */
  extraInfo: Record<string, string>;
}

export function parseClientId(raw: string): ParsedClientId {
  const bar = raw.indexOf('|');
  const clientId = bar < 0 ? raw : raw.slice(0, bar);
  let ext = emptyRecord();
  if (bar >= 0) {
    const end = raw.indexOf('|', bar + 1);
    ext = parsePairs(raw.slice(bar + 1, end < 0 ? undefined : end));
  }
  return { clientId, ext, extraInfo: parseExtraInfo(clientId) };
}

function parseExtraInfo(clientId: string): Record<string, string> {
  if (!clientId.endsWith('}')) return emptyRecord();
  const open = clientId.lastIndexOf('{');
  if (open < 0) return emptyRecord();
  return parsePairs(clientId.slice(open + 1, -1));
}

// Null prototype: keys come from the client, so `constructor` or `__proto__` must stay plain data.
function emptyRecord(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

function parsePairs(section: string): Record<string, string> {
  const out = emptyRecord();
  for (const kv of section.split(',')) {
    const eq = kv.indexOf('=');
    if (eq <= 0) continue;
    const key = kv.slice(0, eq).trim().toLowerCase();
    if (key !== '') out[key] = kv.slice(eq + 1).trim();
  }
  return out;
}

export interface DeviceIdentity {
  deviceKey: string;
  productKey: string;
}

/** `{deviceKey}&{productKey}`, split on the FIRST `&` as Java builds it (§2.2); null when malformed. */
export function parseUsername(username: string): DeviceIdentity | null {
  const amp = username.indexOf('&');
  if (amp <= 0 || amp === username.length - 1) return null;
  return { deviceKey: username.slice(0, amp), productKey: username.slice(amp + 1) };
}

export interface ConnectSignFields {
  clientId: string;
  deviceKey: string;
  productKey: string;
  timestamp: string;
}

export function connectSignature(fields: ConnectSignFields, secret: string, algo: SignAlgo): string {
  return enosSign(
    {
      clientId: fields.clientId,
      deviceKey: fields.deviceKey,
      productKey: fields.productKey,
      timestamp: fields.timestamp,
    },
    secret,
    algo,
  );
}

/** Constant-time, case-insensitive: Java/Python send lowercase hex, Node/C uppercase (§0.2). */
export function verifyConnectPassword(fields: ConnectSignFields, password: string, secret: string, algo: SignAlgo): boolean {
  return safeEqualHex(connectSignature(fields, secret, algo), password);
}

export type SecretKind = 'deviceSecret' | 'productSecret';

/** securemode 2 = device secret; 3 (dynamic activation) and 4 (integration channel) = product secret (§2.2). */
export function secretKindForSecureMode(mode: string | number | null | undefined): SecretKind | null {
  const m = String(mode ?? '').trim();
  if (m === '2') return 'deviceSecret';
  if (m === '3' || m === '4') return 'productSecret';
  return null;
}

export interface ConnectAttempt extends ConnectSignFields {
  /** Raw `securemode` value ('' when absent). */
  secureMode: string;
  /** Raw `signmethod` label ('' when absent). */
  signMethod: string;
  /** Resolved digest, or null for an unknown label (refuse the CONNECT). */
  algo: SignAlgo | null;
  ext: Record<string, string>;
  extraInfo: Record<string, string>;
}

/**
 * Everything needed to check a CONNECT, from the MQTT ClientId and username. Null when the
 * username is not `dk&pk`. A missing timestamp signs as '' (the reference implementation, §2.2).
 */
export function parseConnect(rawClientId: string, username: string): ConnectAttempt | null {
  const who = parseUsername(username);
  if (!who) return null;
  const { clientId, ext, extraInfo } = parseClientId(rawClientId);
  const signMethod = ext['signmethod'] ?? '';
  return {
    clientId,
    deviceKey: who.deviceKey,
    productKey: who.productKey,
    timestamp: ext['timestamp'] ?? '',
    secureMode: ext['securemode'] ?? '',
    signMethod,
    algo: signMethodAlgo(signMethod),
    ext,
    extraInfo,
  };
}

// ---------------------------------------------------------------------------------------------
// Sub-device sign: thing.topo.add, combine.login, combine.login.batch (§5.1–§5.3, §12)

export interface SubDeviceSignFields {
  clientId: string;
  deviceKey: string;
  productKey: string;
  /** The Node SDK sends a JSON number (§12): it signs over the digits JSON prints for it. */
  timestamp: string | number;
}

/** The text a timestamp was signed as: strings verbatim, numbers as JSON (and JS) print them. */
export function timestampText(timestamp: string | number): string {
  return typeof timestamp === 'number' ? JSON.stringify(timestamp) : timestamp;
}

/** Exactly the 4 fields every SDK signs; `cleanSession`, `secureMode`, `signMethod` excluded (§0.7). */
export function subDeviceSignature(fields: SubDeviceSignFields, secret: string, algo: SignAlgo): string {
  return connectSignature({ ...fields, timestamp: timestampText(fields.timestamp) }, secret, algo);
}

export interface SubDeviceVerifyOptions {
  /**
   * Also accept the documented 5-field form that signs `cleanSession` too (DOC-EN
   * connect_subdevices.md; no SDK sends it). Tried only when `cleanSession` is present.
   */
  allowCleanSessionForm?: boolean;
}

export function verifySubDeviceSign(
  fields: SubDeviceSignFields & { cleanSession?: string | boolean | undefined },
  sign: string,
  secret: string,
  algo: SignAlgo,
  options: SubDeviceVerifyOptions = {},
): boolean {
  if (safeEqualHex(subDeviceSignature(fields, secret, algo), sign)) return true;
  if (!options.allowCleanSessionForm || fields.cleanSession === undefined) return false;
  const five = enosSign(
    {
      cleanSession: String(fields.cleanSession),
      clientId: fields.clientId,
      deviceKey: fields.deviceKey,
      productKey: fields.productKey,
      timestamp: timestampText(fields.timestamp),
    },
    secret,
    algo,
  );
  return safeEqualHex(five, sign);
}

/** The sign-method field of a sub-device entry: `signMethod` (Java, Node) or `signmethod` (C, docs), §5.1. */
export function subDeviceSignMethodLabel(params: Readonly<Record<string, unknown>>): string | undefined {
  for (const key of Object.keys(params)) {
    if (key.toLowerCase() === 'signmethod') {
      const v = params[key];
      if (typeof v === 'string') return v;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Alibaba CONNECT (§2.6): a real HMAC keyed with the deviceSecret, secret NOT appended.

/** `hmacmd5|hmacsha1|hmacsha256` (Alibaba also lists plain `sha256`); case-insensitive, no default. */
export function alibabaSignMethodAlgo(label: string | null | undefined): SignAlgo | null {
  const n = (label ?? '').trim();
  return n === '' ? null : signMethodAlgo(n);
}

export interface AlibabaSignFields {
  clientId: string;
  deviceName: string;
  productKey: string;
  /** Optional: left out of the signed text when absent or empty. */
  timestamp?: string | undefined;
}

export function alibabaSign(fields: AlibabaSignFields, deviceSecret: string, algo: SignAlgo): string {
  let content = `clientId${fields.clientId}deviceName${fields.deviceName}productKey${fields.productKey}`;
  if (fields.timestamp !== undefined && fields.timestamp !== '') content += `timestamp${fields.timestamp}`;
  return createHmac(algo, deviceSecret).update(content, 'utf8').digest('hex');
}

export function verifyAlibabaPassword(fields: AlibabaSignFields, password: string, deviceSecret: string, algo: SignAlgo): boolean {
  return safeEqualHex(alibabaSign(fields, deviceSecret, algo), password);
}
