import { createPublicKey, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { pkijs, x509 } from './crypto.js';
import type { SubjectRules } from './authority/load.js';
import { nameAttributes, subjectAttributes, type SubjectAttribute } from './authority/names.js';
import { CertificateError } from './errors.js';

/** Generous for any real CSR (an RSA-4096 CSR is ~1.7 KB of PEM) and small enough to parse safely. */
export const MAX_CSR_PEM_BYTES = 16 * 1024;

/** A CSR that passed every check: safe to sign. */
export interface ValidCsr {
  der: Uint8Array;
  request: x509.Pkcs10CertificateRequest;
  keyType: 'rsa' | 'ec';
  /** Subject in the CSR's own RDN order, e.g. `C=CN, ST=Shanghai, …` or certtool's `CN=…, OU=…, …`. */
  subject: string;
  commonName: string;
}

// "NEW CERTIFICATE REQUEST" is what older OpenSSL/Netscape and Windows tools write.
const PEM_BLOCK = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----([^-]*)-----END (NEW )?CERTIFICATE REQUEST-----/g;

/** PEM → DER, refusing oversize input before looking at it. Text around the block (openssl -text) is ignored. */
export function decodeCsrPem(pem: unknown): Uint8Array {
  if (typeof pem !== 'string') throw new CertificateError('csr.not_pem', 'the CSR must be a PEM string');
  if (Buffer.byteLength(pem, 'utf8') > MAX_CSR_PEM_BYTES) {
    throw new CertificateError('csr.too_large', `the CSR is larger than ${MAX_CSR_PEM_BYTES} bytes`);
  }
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  const body = blocks[0]?.[2];
  if (blocks.length !== 1 || body === undefined) {
    throw new CertificateError(
      'csr.not_pem',
      blocks.length > 1 ? 'the input holds more than one CSR' : 'the input is not a PEM "CERTIFICATE REQUEST"',
    );
  }
  const b64 = body.replace(/\s+/g, '');
  if (b64.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new CertificateError('csr.not_pem', 'the PEM body is not base64');
  }
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

const rsaSignatures: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
};
const ecdsaSignatures: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
};
/** Names for the refusal message only; anything not in the two lists above is refused. */
const refusedSignatures: Record<string, string> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.3': 'md4WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '2.16.840.1.101.3.4.3.1': 'dsa-with-SHA224',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-SHA256',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};
/** Node's names for the curves we accept: P-256 (§6 ECC) and P-384. */
const acceptedCurves = new Set(['prime256v1', 'secp384r1']);
const MIN_RSA_BITS = 2048;

/**
 * Every check §6 and the issue make on a CSR, in an order that gives the most useful code:
 * structure; algorithms (a weak algorithm is refused as such, and before verification: WebCrypto
 * cannot even verify MD5 or secp256k1); self-signature (a broken CSR is reported as broken whatever
 * its key); RSA key size; then the subject rules.
 */
export async function validateCsr(der: Uint8Array, rules: SubjectRules): Promise<ValidCsr> {
  const { request, structure, keyType } = await validateCsrKey(der);
  const commonName = checkSubject(structure, rules);
  return { der, request, keyType, subject: request.subject, commonName };
}

/** Everything but the subject rules: structure, algorithms, self-signature, key size (a server certificate's CSR). */
export async function validateCsrKey(
  der: Uint8Array,
): Promise<{ request: x509.Pkcs10CertificateRequest; structure: pkijs.CertificationRequest; keyType: 'rsa' | 'ec' }> {
  const { request, structure } = parse(der);
  const { keyType, key } = checkAlgorithms(request, structure);
  let verified: boolean;
  try {
    verified = await request.verify();
  } catch {
    verified = false; // a key WebCrypto cannot import (bad point, bad modulus) cannot have signed it
  }
  if (!verified) throw new CertificateError('csr.invalid_signature', "the CSR's self-signature does not verify with its public key");
  if (keyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS)
      throw new CertificateError('csr.weak_key', `RSA keys must have at least ${MIN_RSA_BITS} bits; this one has ${bits}`);
  }
  if (structure.version !== 0) throw new CertificateError('csr.malformed', 'the CSR version must be 1 (0)');
  return { request, structure, keyType };
}

/**
 * x509 gives verification and the pieces the certificate is built from; pkijs gives read access to
 * the structure (x509 keeps its ASN.1 protected). Both must accept the bytes.
 */
function parse(der: Uint8Array): { request: x509.Pkcs10CertificateRequest; structure: pkijs.CertificationRequest } {
  // Exactly one DER object and nothing after it: trailing bytes would be signed by nobody.
  const outer = asn1js.fromBER(der);
  if (outer.offset === -1 || outer.offset !== der.byteLength) {
    throw new CertificateError('csr.malformed', 'the CSR is not a single DER-encoded PKCS#10 structure');
  }
  try {
    return { request: new x509.Pkcs10CertificateRequest(der), structure: new pkijs.CertificationRequest({ schema: outer.result }) };
  } catch (err) {
    throw new CertificateError('csr.malformed', `the CSR is not PKCS#10: ${(err as Error).message}`);
  }
}

function checkAlgorithms(
  request: x509.Pkcs10CertificateRequest,
  structure: pkijs.CertificationRequest,
): { keyType: 'rsa' | 'ec'; key: KeyObject } {
  const sigOid = structure.signatureAlgorithm.algorithmId;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(request.publicKey.rawData), format: 'der', type: 'spki' });
  } catch {
    throw new CertificateError(
      'csr.unsupported_algorithm',
      `the CSR's public key type (${structure.subjectPublicKeyInfo.algorithm.algorithmId}) is not supported: RSA or EC P-256/P-384 only`,
    );
  }
  const type = key.asymmetricKeyType;
  if (type === 'rsa' && rsaSignatures[sigOid]) return { keyType: 'rsa', key };
  if (type === 'ec' && ecdsaSignatures[sigOid]) {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unnamed';
    if (!acceptedCurves.has(curve))
      throw new CertificateError('csr.unsupported_algorithm', `EC curve ${curve} is not supported: P-256 (prime256v1) or P-384 only`);
    return { keyType: 'ec', key };
  }
  const sigName = rsaSignatures[sigOid] ?? ecdsaSignatures[sigOid] ?? refusedSignatures[sigOid] ?? sigOid;
  throw new CertificateError(
    'csr.unsupported_algorithm',
    `a ${type ?? 'unknown'} key signed with ${sigName} is not accepted: RSA (>= 2048 bits) with SHA-256/384/512, or ECDSA P-256/P-384 with SHA-256/384/512`,
  );
}

const required: SubjectAttribute[] = ['C', 'ST', 'L', 'O', 'OU', 'CN'];
const attributeByOid = new Map<string, SubjectAttribute>(
  Object.entries(subjectAttributes).map(([name, oid]) => [oid, name as SubjectAttribute]),
);
const MAX_FIELD = 64;
// C0 controls (NUL included), DEL and C1 controls.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const MAX_EMAIL = 255; // RFC 5280 ub-emailaddress-length

/** §6: C, ST, L, O, OU, CN mandatory (email optional), each ≤ 64 chars, C two letters, C/ST/O equal the root's. */
function checkSubject(structure: pkijs.CertificationRequest, rules: SubjectRules): string {
  const values = new Map<SubjectAttribute, string>();
  for (const { oid, value } of nameAttributes(structure.subject)) {
    const name = attributeByOid.get(oid);
    if (!name)
      throw new CertificateError(
        'csr.subject_invalid',
        `subject attribute ${oid} is not allowed: C, ST, L, O, OU, CN and emailAddress only`,
      );
    if (value === undefined) throw new CertificateError('csr.subject_invalid', `subject ${name} is not a string`);
    if (values.has(name)) throw new CertificateError('csr.subject_invalid', `subject ${name} appears more than once`);
    const length = [...value].length;
    if (value.trim() === '') throw new CertificateError('csr.subject_invalid', `subject ${name} is empty`);
    // NUL and other control characters cut names short in C code and forge lines in logs.
    if (CONTROL_CHARACTERS.test(value)) throw new CertificateError('csr.subject_invalid', `subject ${name} contains a control character`);
    if (length > (name === 'emailAddress' ? MAX_EMAIL : MAX_FIELD)) {
      throw new CertificateError(
        'csr.subject_invalid',
        `subject ${name} is longer than ${name === 'emailAddress' ? MAX_EMAIL : MAX_FIELD} characters`,
      );
    }
    values.set(name, value);
  }
  const missing = required.filter((a) => !values.has(a));
  if (missing.length > 0)
    throw new CertificateError('csr.subject_missing', `the CSR subject lacks ${missing.join(', ')} (C, ST, L, O, OU and CN are mandatory)`);
  if (!/^[A-Za-z]{2}$/.test(values.get('C')!))
    throw new CertificateError('csr.subject_invalid', 'subject C must be a two-letter country code');
  const mismatched = (['C', 'ST', 'O'] as const).filter((a) => values.get(a) !== rules[a]);
  if (mismatched.length > 0) {
    throw new CertificateError(
      'csr.subject_mismatch',
      `subject ${mismatched.join(', ')} must equal the CA root's: C=${rules.C}, ST=${rules.ST}, O=${rules.O}`,
    );
  }
  return values.get('CN')!;
}
