import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { SubjectRules } from './authority/load.js';
import { subjectAttributes, type NameAttribute, type SubjectAttribute } from './authority/names.js';
import { DerError, expectTag, oidToString, readChildren, readSingle, tags, type DerElement } from './der.js';
import { CertificateError } from './errors.js';

/** Generous for any real CSR (an RSA-4096 CSR is ~1.7 KB of PEM) and small enough to parse safely. */
export const MAX_CSR_PEM_BYTES = 16 * 1024;

/** A CSR that passed every check: safe to sign. Every Buffer is a view of `der`. */
export interface ValidCsr {
  der: Uint8Array;
  keyType: 'rsa' | 'ec';
  /** Subject in the CSR's own RDN order, e.g. `C=CN, ST=Shanghai, …` or certtool's `CN=…, OU=…, …`. */
  subject: string;
  commonName: string;
  /** The subject Name's DER, copied into the certificate byte for byte. */
  subjectDer: Buffer;
  /** The SubjectPublicKeyInfo's DER, copied into the certificate byte for byte. */
  spkiDer: Buffer;
  /** The subjectPublicKey bits (the SKI is their SHA-1, RFC 5280 §4.2.1.2 method 1). */
  publicKeyBits: Buffer;
}

/** A subject attribute as read from the CSR: its value's DER, and whether it shares the RDN of the one before. */
interface SubjectAttributeValue extends NameAttribute {
  raw: Buffer;
  continuesRdn: boolean;
}

/** What the key checks leave: a server certificate's CSR needs no more. */
export type CheckedCsrKey = Omit<ValidCsr, 'subject' | 'commonName'> & { subjectAttributes: SubjectAttributeValue[] };

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

/** Accepted signature algorithms and the hash each one verifies with. */
const rsaSignatures: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const ecdsaSignatures: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const signatureNames: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
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
 * structure; algorithms (a weak algorithm is refused as such, and before verification); self-signature
 * (a broken CSR is reported as broken whatever its key); RSA key size; then the subject rules.
 * The request is read once, by der.ts; the signature is checked by node:crypto.
 */
export async function validateCsr(der: Uint8Array, rules: SubjectRules): Promise<ValidCsr> {
  const checked = await validateCsrKey(der);
  const commonName = checkSubject(checked.subjectAttributes, rules);
  const { subjectAttributes, ...rest } = checked;
  return { ...rest, subject: displayName(subjectAttributes), commonName };
}

/** Everything but the subject rules: structure, algorithms, self-signature, key size (a server certificate's CSR). */
export async function validateCsrKey(der: Uint8Array): Promise<CheckedCsrKey> {
  const parts = parse(der);
  const { keyType, key, hash, rsaBits } = checkAlgorithms(parts);
  let verified: boolean;
  try {
    verified = parts.signature !== undefined && verify(hash, parts.info, key, parts.signature);
  } catch {
    verified = false; // a key OpenSSL cannot use (bad point, bad modulus) cannot have signed it
  }
  if (!verified) throw new CertificateError('csr.invalid_signature', "the CSR's self-signature does not verify with its public key");
  if (keyType === 'rsa') {
    const bits = rsaBits ?? 0;
    if (bits < MIN_RSA_BITS)
      throw new CertificateError('csr.weak_key', `RSA keys must have at least ${MIN_RSA_BITS} bits; this one has ${bits}`);
  }
  if (parts.version !== 0) throw new CertificateError('csr.malformed', 'the CSR version must be 1 (0)');
  return {
    der,
    keyType,
    subjectDer: parts.subjectDer,
    spkiDer: parts.spkiDer,
    publicKeyBits: parts.publicKeyBits,
    subjectAttributes: parts.subjectAttributes,
  };
}

interface CsrParts {
  /** certificationRequestInfo, header included: what the signature covers. */
  info: Buffer;
  version: number;
  subjectDer: Buffer;
  subjectAttributes: SubjectAttributeValue[];
  spkiDer: Buffer;
  keyAlgorithmOid: string;
  /** The key algorithm's parameters (an EC key's named curve), if any. */
  keyParameters: DerElement | undefined;
  publicKeyBits: Buffer;
  signatureOid: string;
  /** undefined when the BIT STRING has unused bits: no signature of ours looks like that. */
  signature: Buffer | undefined;
}

/**
 * PKCS#10 (RFC 2986 §4): SEQUENCE { certificationRequestInfo SEQUENCE { version INTEGER,
 * subject Name, subjectPKInfo SubjectPublicKeyInfo, attributes [0] }, signatureAlgorithm
 * AlgorithmIdentifier, signature BIT STRING }. Exactly one DER object and nothing after it:
 * trailing bytes would be signed by nobody. The attributes are not read (nothing is copied from them).
 */
function parse(der: Uint8Array): CsrParts {
  const buf = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  try {
    const outer = expectTag(readSingle(buf), tags.SEQUENCE, 'a SEQUENCE');
    const [info, sigAlg, sig, ...extra] = readChildren(outer.content);
    if (extra.length > 0) throw new DerError('extra fields after the signature');
    expectTag(info, tags.SEQUENCE, 'certificationRequestInfo');
    expectTag(sigAlg, tags.SEQUENCE, 'signatureAlgorithm');
    expectTag(sig, tags.BIT_STRING, 'the signature BIT STRING');
    const [version, subject, spki, attributes, ...more] = readChildren(info!.content);
    if (more.length > 0 || (attributes !== undefined && attributes.tag !== 0xa0)) throw new DerError('unexpected fields in the request');
    const versionBytes = expectTag(version, tags.INTEGER, 'version').content;
    if (versionBytes.length === 0 || versionBytes.length > 4) throw new DerError('bad version');
    expectTag(subject, tags.SEQUENCE, 'the subject Name');
    const [keyAlg, keyBits, ...spkiMore] = readChildren(expectTag(spki, tags.SEQUENCE, 'subjectPKInfo').content);
    if (spkiMore.length > 0) throw new DerError('unexpected fields in subjectPKInfo');
    const bits = expectTag(keyBits, tags.BIT_STRING, 'subjectPublicKey').content;
    if (bits.length === 0) throw new DerError('empty subjectPublicKey');
    const sigBits = sig!.content;
    if (sigBits.length === 0) throw new DerError('empty signature');
    return {
      info: info!.raw,
      version: versionBytes.readIntBE(0, versionBytes.length),
      subjectDer: subject!.raw,
      subjectAttributes: readName(subject!),
      spkiDer: spki!.raw,
      keyAlgorithmOid: algorithmOid(keyAlg),
      keyParameters: readChildren(keyAlg!.content)[1],
      publicKeyBits: bits.subarray(1),
      signatureOid: algorithmOid(sigAlg),
      signature: sigBits[0] === 0 ? sigBits.subarray(1) : undefined,
    };
  } catch (err) {
    if (err instanceof DerError)
      throw new CertificateError('csr.malformed', `the CSR is not a DER-encoded PKCS#10 structure: ${err.message}`);
    throw err;
  }
}

function algorithmOid(el: DerElement | undefined): string {
  const [id] = readChildren(expectTag(el, tags.SEQUENCE, 'an AlgorithmIdentifier').content);
  return oidToString(expectTag(id, tags.OID, 'an algorithm OBJECT IDENTIFIER').content);
}

function checkAlgorithms(parts: CsrParts): { keyType: 'rsa' | 'ec'; key: KeyObject; hash: string; rsaBits?: number } {
  const sigOid = parts.signatureOid;
  const rsaHash = rsaSignatures[sigOid];
  const ecHash = ecdsaSignatures[sigOid];
  if (rsaHash || ecHash) {
    const known = importCommonKey(parts);
    if (known?.keyType === 'rsa' && rsaHash) return { ...known, hash: rsaHash };
    if (known?.keyType === 'ec' && ecHash) return { ...known, hash: ecHash };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: parts.spkiDer, format: 'der', type: 'spki' });
  } catch {
    throw new CertificateError(
      'csr.unsupported_algorithm',
      `the CSR's public key type (${parts.keyAlgorithmOid}) is not supported: RSA or EC P-256/P-384 only`,
    );
  }
  const type = key.asymmetricKeyType;
  if (type === 'rsa' && rsaHash) return { keyType: 'rsa', key, hash: rsaHash, rsaBits: key.asymmetricKeyDetails?.modulusLength ?? 0 };
  if (type === 'ec' && ecHash) {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unnamed';
    if (!acceptedCurves.has(curve))
      throw new CertificateError('csr.unsupported_algorithm', `EC curve ${curve} is not supported: P-256 (prime256v1) or P-384 only`);
    return { keyType: 'ec', key, hash: ecHash };
  }
  const sigName = signatureNames[sigOid] ?? refusedSignatures[sigOid] ?? sigOid;
  throw new CertificateError(
    'csr.unsupported_algorithm',
    `a ${type ?? 'unknown'} key signed with ${sigName} is not accepted: RSA (>= 2048 bits) with SHA-256/384/512, or ECDSA P-256/P-384 with SHA-256/384/512`,
  );
}

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
/** Named-curve OIDs (contents) of the curves we accept, their JWK names and coordinate sizes. */
const jwkCurves = new Map([
  ['2a8648ce3d030107', { crv: 'P-256', size: 32 }], // 1.2.840.10045.3.1.7, prime256v1
  ['2b81040022', { crv: 'P-384', size: 48 }], // 1.3.132.0.34, secp384r1
]);

/**
 * The public key of the two common cases, an EC P-256/P-384 key with an uncompressed point and an
 * RSA key, imported from its numbers (JWK). OpenSSL 3 decodes an SPKI through its generic decoder
 * framework, which costs about as much as the signature check itself; importing the numbers skips
 * it (docs/BENCHMARKS.md, "Where the microseconds per certificate go"). Anything else, or anything
 * this import refuses, goes the general way (createPublicKey on the DER) and is judged there, with
 * the same outcome as before.
 */
function importCommonKey(parts: CsrParts): { keyType: 'rsa' | 'ec'; key: KeyObject; rsaBits?: number } | undefined {
  try {
    if (parts.keyAlgorithmOid === EC_PUBLIC_KEY && parts.keyParameters?.tag === tags.OID) {
      const curve = jwkCurves.get(parts.keyParameters.content.toString('hex'));
      const point = parts.publicKeyBits;
      if (!curve || point.length !== 1 + 2 * curve.size || point[0] !== 0x04) return undefined;
      const x = point.subarray(1, 1 + curve.size).toString('base64url');
      const y = point.subarray(1 + curve.size).toString('base64url');
      return { keyType: 'ec', key: createPublicKey({ key: { kty: 'EC', crv: curve.crv, x, y }, format: 'jwk' }) };
    }
    if (parts.keyAlgorithmOid === RSA_ENCRYPTION) {
      const [n, e, ...rest] = readChildren(expectTag(readSingle(parts.publicKeyBits), tags.SEQUENCE, 'RSAPublicKey').content);
      const modulus = magnitude(expectTag(n, tags.INTEGER, 'modulus').content);
      const exponent = magnitude(expectTag(e, tags.INTEGER, 'exponent').content);
      if (rest.length > 0 || modulus.length === 0 || exponent.length === 0) return undefined;
      const key = createPublicKey({
        key: { kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') },
        format: 'jwk',
      });
      return { keyType: 'rsa', key, rsaBits: modulus.length * 8 - Math.clz32(modulus[0]!) + 24 };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** A positive INTEGER's magnitude (leading zero octets dropped); empty for zero or a negative number. */
function magnitude(content: Buffer): Buffer {
  if (content.length === 0 || content[0]! & 0x80) return Buffer.alloc(0);
  let i = 0;
  while (i < content.length && content[i] === 0) i++;
  return content.subarray(i);
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
function checkSubject(attributes: NameAttribute[], rules: SubjectRules): string {
  const values = new Map<SubjectAttribute, string>();
  for (const { oid, value } of attributes) {
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

/** Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue): every attribute, flattened, in DER order. */
function readName(name: DerElement): SubjectAttributeValue[] {
  const out: SubjectAttributeValue[] = [];
  for (const rdn of readChildren(name.content)) {
    const atvs = readChildren(expectTag(rdn, tags.SET, 'a RelativeDistinguishedName SET').content);
    if (atvs.length === 0) throw new DerError('empty RelativeDistinguishedName');
    for (const [i, atv] of atvs.entries()) {
      const [type, value, ...rest] = readChildren(expectTag(atv, tags.SEQUENCE, 'an AttributeTypeAndValue').content);
      if (value === undefined || rest.length > 0) throw new DerError('an AttributeTypeAndValue is not a type and one value');
      out.push({
        oid: oidToString(expectTag(type, tags.OID, 'an attribute type').content),
        value: directoryString(value),
        raw: value.raw,
        continuesRdn: i > 0,
      });
    }
  }
  return out;
}

/**
 * The text of a character-string value (UTF8String, BMPString, UniversalString, or one of the
 * single-byte string types), or undefined for anything else: a value we refuse to interpret.
 */
function directoryString(el: DerElement): string | undefined {
  const c = el.content;
  switch (el.tag) {
    case 0x0c: // UTF8String
      return c.toString('utf8');
    case 0x1e: // BMPString: UTF-16 big-endian
      if (c.length % 2 !== 0) throw new DerError('BMPString of odd length');
      return Buffer.from(c).swap16().toString('utf16le');
    case 0x1c: {
      // UniversalString: UTF-32 big-endian
      if (c.length % 4 !== 0) throw new DerError('UniversalString length not a multiple of 4');
      let text = '';
      for (let i = 0; i < c.length; i += 4) {
        const cp = c.readUInt32BE(i);
        if (cp > 0x10ffff) throw new DerError('UniversalString code point out of range');
        text += String.fromCodePoint(cp);
      }
      return text;
    }
    // NumericString, PrintableString, TeletexString, VideotexString, IA5String, GraphicString,
    // VisibleString, GeneralString, CharacterString: one byte per character.
    case 0x12:
    case 0x13:
    case 0x14:
    case 0x15:
    case 0x16:
    case 0x19:
    case 0x1a:
    case 0x1b:
    case 0x1d:
      return c.toString('latin1');
    default:
      return undefined;
  }
}

const displayTypes: Record<string, string> = {
  '2.5.4.6': 'C',
  '2.5.4.8': 'ST',
  '2.5.4.7': 'L',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.3': 'CN',
  '1.2.840.113549.1.9.1': 'E',
};
/** String types shown as text; any other value is shown as `#` and its DER in hex (RFC 4514 §2.4). */
const textTags = new Set([0x0c, 0x13, 0x14, 0x16, 0x1c, 0x1e]);

/**
 * The subject as the service has always displayed it (the record's `subject`): `TYPE=value`, RDNs
 * joined by ", " in the CSR's order, multi-valued RDNs by "+", with RFC 4514 special characters escaped.
 */
function displayName(attributes: SubjectAttributeValue[]): string {
  let out = '';
  for (const a of attributes) {
    const value = a.value !== undefined && textTags.has(a.raw[0]!) ? escapeValue(a.value) : `#${a.raw.toString('hex')}`;
    if (out !== '') out += a.continuesRdn ? '+' : ', ';
    out += `${displayTypes[a.oid] ?? a.oid}=${value}`;
  }
  return out;
}

function escapeValue(value: string): string {
  return value
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/( $)/, '\\$1');
}
