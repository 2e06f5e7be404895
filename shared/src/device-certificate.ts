/**
 * The device side of certificate-based two-way authentication (docs/ENOS-PROTOCOL.md §6): make a key,
 * build the PKCS#10 CSR the hub's `certificates?action=apply` signs, and decide when to renew.
 * No I/O here: the edge stores the key and certificate (edge/src/certificate-files.ts) and calls
 * the REST API.
 *
 * ```ts
 * const keys = await generateDeviceKey('P-256');
 * const csr = await buildCsr({ keys, subject: { C: 'CN', ST: 'Shanghai', L: 'Shanghai', O: 'EnOS', OU: 'Edge Service', CN: assetId } });
 * const r = await api.connect(orgId, 'POST', 'certificates', 'apply', { assetId }, applyRequestBody(csr, 365, issueAuthorityOf(keys)));
 * await storeDeviceCredentials(dir, { certPem: r.data.cert, keyPem: await exportPrivateKeyPem(keys), caPem: r.data.caCert });
 * if (shouldRenew(certPem, new Date())) …                        // §7.3 renew with a new CSR, same CN
 * ```
 */
// @peculiar/x509 resolves its ASN.1 converters through tsyringe, which needs the Reflect polyfill first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** §6: RSA 2048 with SHA256withRSA (the "RSA" authority) or EC P-256 with SHA256withECDSA ("ECC"). */
export type DeviceKeyKind = 'P-256' | 'RSA-2048';
export type IssueAuthority = 'RSA' | 'ECC';

export interface DeviceKeyPair {
  kind: DeviceKeyKind;
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
}

/** The CSR subject: all six mandatory (§6), each at most 64 characters, C exactly 2. */
export interface CsrSubject {
  C: string;
  ST: string;
  L: string;
  O: string;
  OU: string;
  /** Unique among valid certificates (§6); keep it when renewing. The EnOS tool suggests the assetId. */
  CN: string;
  emailAddress?: string;
}

const algorithms = {
  'P-256': {
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' },
  },
  'RSA-2048': {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  },
} as const;

/** A new key pair; the private key is extractable once, for exportPrivateKeyPem. */
export async function generateDeviceKey(kind: DeviceKeyKind): Promise<DeviceKeyPair> {
  const a = algorithms[kind];
  if (!a) throw new RangeError(`key kind must be "P-256" or "RSA-2048", got ${String(kind)}`);
  const pair = await webcrypto.subtle.generateKey(a.generate, true, ['sign', 'verify']);
  return { kind, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** The authority that signs this kind of key on EnOS (§6). */
export function issueAuthorityOf(keys: Pick<DeviceKeyPair, 'kind'>): IssueAuthority {
  return keys.kind === 'P-256' ? 'ECC' : 'RSA';
}

const SUBJECT_ORDER = ['C', 'ST', 'L', 'O', 'OU', 'CN'] as const;

/**
 * A PEM PKCS#10 request signed with the device's key, subject in the EnOS quickstart order
 * (`/C/ST/L/O/OU/CN`). No extensions are requested: the CA decides them (issue 5).
 */
export async function buildCsr(o: { keys: DeviceKeyPair; subject: CsrSubject }): Promise<string> {
  const s = o.subject;
  for (const field of SUBJECT_ORDER) {
    const v = s[field];
    if (typeof v !== 'string' || v.trim() === '') throw new RangeError(`CSR subject ${field} is required (docs/ENOS-PROTOCOL.md §6)`);
    if ([...v].length > 64) throw new RangeError(`CSR subject ${field} is longer than 64 characters`);
  }
  if (s.C.length !== 2) throw new RangeError(`CSR subject C must be a two-letter country code, got "${s.C}"`);
  if (s.emailAddress !== undefined && [...s.emailAddress].length > 64)
    throw new RangeError('CSR subject emailAddress is longer than 64 characters');
  const name: x509.JsonName = SUBJECT_ORDER.map((field) => ({ [field]: [s[field]] }));
  if (s.emailAddress !== undefined) name.push({ E: [s.emailAddress] });
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name, keys: { privateKey: o.keys.privateKey, publicKey: o.keys.publicKey } as never, signingAlgorithm: algorithms[o.keys.kind].sign },
    // Passed per call instead of set globally: the shared package changes no process-wide state.
    webcrypto,
  );
  return csr.toString('pem') + '\n';
}

/** The body of `POST /connect-service/v2.0/certificates?action=apply` (§7.3). */
export function applyRequestBody(
  csrPem: string,
  validDay?: number,
  issueAuthority?: IssueAuthority,
): { csr: string; validDay?: number; issueAuthority?: IssueAuthority } {
  if (validDay !== undefined && (!Number.isSafeInteger(validDay) || validDay < 1))
    throw new RangeError(`validDay must be a positive integer, got ${validDay}`);
  return { csr: csrPem, ...(validDay !== undefined ? { validDay } : {}), ...(issueAuthority !== undefined ? { issueAuthority } : {}) };
}

/**
 * The body of `certificates?action=renew` (§7.3): certSn as the JSON int EnOS expects when it is a
 * safe integer (the hub's default serials are), else as the decimal string.
 */
export function renewRequestBody(
  certSN: string,
  o: { csrPem?: string; validDay?: number; issueAuthority?: IssueAuthority } = {},
): Record<string, unknown> {
  const n = Number(certSN);
  return {
    certSn: Number.isSafeInteger(n) && String(n) === certSN ? n : certSN,
    ...(o.csrPem !== undefined ? { csr: o.csrPem } : {}),
    ...(o.validDay !== undefined ? { validDay: o.validDay } : {}),
    ...(o.issueAuthority !== undefined ? { issueAuthority: o.issueAuthority } : {}),
  };
}

/** The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), what openssl, mosquitto and Node's tls read. */
export async function exportPrivateKeyPem(keys: Pick<DeviceKeyPair, 'privateKey'>): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

/**
 * True once two thirds of the certificate's lifetime have passed (expired included): early enough
 * that a device offline for a while still renews before the end. A clock before notBefore (a device
 * that booted without a real-time clock) is not a reason to renew: a new certificate would not be
 * valid yet either.
 */
export function shouldRenew(certPem: string, now: Date): boolean {
  const cert = new x509.X509Certificate(certPem);
  const from = cert.notBefore.getTime();
  const to = cert.notAfter.getTime();
  return now.getTime() >= from + ((to - from) * 2) / 3;
}
