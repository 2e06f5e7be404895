import { createHash, sign } from 'node:crypto';
import type { IssuingCa } from './authority/load.js';
import { x509 } from './crypto.js';
import { bitString, encode, octetString, oid, sequence, tags, time, toPem, unsignedInteger } from './der.js';

/** A signed certificate: its DER, its PEM and its validity as written (whole seconds). */
export interface SignedCertificate {
  der: Buffer;
  pem: string;
  notBefore: Date;
  notAfter: Date;
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/**
 * The device certificate profile. Extensions are decided here and nothing the CSR requests is
 * copied (a CSR asking for CA:TRUE or extra SANs still gets this plain client leaf):
 * - basicConstraints CA:FALSE, critical;
 * - keyUsage digitalSignature, plus keyEncipherment for RSA keys (TLS 1.2 RSA key exchange), critical;
 * - extendedKeyUsage clientAuth: the certificate is for mTLS to the hub (§6), nothing else;
 * - SKI from the device key, AKI = the issuing CA's SKI (chain building);
 * - CRL distribution point: where this CA's CRL is served (§6: "Publish a CRL at the URL embedded in certs").
 * The subject and the public key are the CSR's DER, byte for byte (§6: "subject copied verbatim").
 */
export function buildLeaf(o: {
  csr: { subjectDer: Buffer; spkiDer: Buffer; publicKeyBits: Buffer; keyType: 'rsa' | 'ec' };
  issuer: IssuingCa;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string;
}): SignedCertificate {
  return signLeaf({ ...o, ...o.csr, purpose: CLIENT_AUTH, extra: [] });
}

/**
 * The hub's TLS server certificate profile: serverAuth only, the host names and addresses as SANs
 * (CN = the first one, for old clients that still read it), nothing taken from the CSR but its key.
 * Rare (one per hub start at most), so the name and the SANs are encoded by @peculiar/x509.
 */
export function buildServerLeaf(o: {
  csr: { spkiDer: Buffer; publicKeyBits: Buffer; keyType: 'rsa' | 'ec' };
  hostnames: { type: 'dns' | 'ip'; value: string }[];
  issuer: IssuingCa;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string;
}): SignedCertificate {
  return signLeaf({
    ...o,
    ...o.csr,
    subjectDer: Buffer.from(new x509.Name([{ CN: [o.hostnames[0]!.value] }]).toArrayBuffer()),
    purpose: SERVER_AUTH,
    extra: [Buffer.from(new x509.SubjectAlternativeNameExtension(o.hostnames).rawData)],
  });
}

/** The encodings that depend only on the issuing CA, made once per CA. */
interface IssuerParts {
  signatureAlgorithm: Buffer;
  authorityKeyIdentifier: Buffer;
  crl: { url: string; extension: Buffer } | undefined;
}
const issuerParts = new WeakMap<IssuingCa, IssuerParts>();

function partsOf(issuer: IssuingCa): IssuerParts {
  let parts = issuerParts.get(issuer);
  if (!parts) {
    parts = {
      // §6: SHA256withRSA (parameters NULL, RFC 4055 §5) or SHA256withECDSA (parameters absent, RFC 5758 §3.2).
      signatureAlgorithm:
        issuer.keyType === 'rsa' ? sequence(oid('1.2.840.113549.1.1.11'), encode(tags.NULL)) : sequence(oid('1.2.840.10045.4.3.2')),
      authorityKeyIdentifier: extension('2.5.29.35', false, sequence(encode(0x80, Buffer.from(issuer.keyId, 'hex')))),
      crl: undefined,
    };
    issuerParts.set(issuer, parts);
  }
  return parts;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), BOOLEAN_TRUE, octetString(value)) : sequence(oid(id), octetString(value));
}

const BOOLEAN_TRUE = encode(tags.BOOLEAN, Buffer.from([0xff]));
const VERSION_3 = encode(0xa0, encode(tags.INTEGER, Buffer.from([2])));
const BASIC_CONSTRAINTS_LEAF = extension('2.5.29.19', true, sequence());
// KeyUsage BIT STRING: digitalSignature (bit 0) alone, 7 unused bits; with keyEncipherment (bit 2), 5 unused bits.
const KEY_USAGE = {
  ec: extension('2.5.29.15', true, encode(tags.BIT_STRING, Buffer.from([7, 0x80]))),
  rsa: extension('2.5.29.15', true, encode(tags.BIT_STRING, Buffer.from([5, 0xa0]))),
};
const EXTENDED_KEY_USAGE = {
  [CLIENT_AUTH]: extension('2.5.29.37', false, sequence(oid(CLIENT_AUTH))),
  [SERVER_AUTH]: extension('2.5.29.37', false, sequence(oid(SERVER_AUTH))),
};

/** CRLDistributionPoints: one DistributionPoint whose fullName is the URI (RFC 5280 §4.2.1.13). */
function crlExtension(parts: IssuerParts, url: string): Buffer {
  if (parts.crl?.url !== url) {
    const uri = encode(0x86, Buffer.from(url, 'utf8'));
    parts.crl = { url, extension: extension('2.5.29.31', false, sequence(sequence(encode(0xa0, encode(0xa0, uri))))) };
  }
  return parts.crl.extension;
}

/** Whole seconds: what the certificate can hold, so what the record says too. */
const toSecond = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** What every leaf of ours carries; the two profiles differ in subject, purpose and SANs only. Signed once, by node:crypto. */
function signLeaf(o: {
  subjectDer: Buffer;
  spkiDer: Buffer;
  publicKeyBits: Buffer;
  keyType: 'rsa' | 'ec';
  purpose: typeof CLIENT_AUTH | typeof SERVER_AUTH;
  extra: Buffer[];
  issuer: IssuingCa;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string;
}): SignedCertificate {
  const parts = partsOf(o.issuer);
  const notBefore = toSecond(o.notBefore);
  const notAfter = toSecond(o.notAfter);
  const hex = o.serialHex.length % 2 === 0 ? o.serialHex : `0${o.serialHex}`;
  const ski = createHash('sha1').update(o.publicKeyBits).digest();
  const tbs = sequence(
    VERSION_3,
    unsignedInteger(Buffer.from(hex, 'hex')),
    parts.signatureAlgorithm,
    o.issuer.subjectDer,
    sequence(time(notBefore), time(notAfter)),
    o.subjectDer,
    o.spkiDer,
    encode(
      0xa3,
      sequence(
        BASIC_CONSTRAINTS_LEAF,
        KEY_USAGE[o.keyType],
        EXTENDED_KEY_USAGE[o.purpose],
        ...o.extra,
        extension('2.5.29.14', false, octetString(ski)),
        parts.authorityKeyIdentifier,
        crlExtension(parts, o.crlUrl),
      ),
    ),
  );
  // RSA: PKCS#1 v1.5; ECDSA: the DER (r, s) signature X.509 carries. Synchronous: one core signs either way.
  const signature = sign('sha256', tbs, o.issuer.privateKey);
  const der = sequence(tbs, parts.signatureAlgorithm, bitString(signature));
  return { der, pem: toPem(der, 'CERTIFICATE'), notBefore, notAfter };
}
