/**
 * Reads the parts of a detached CMS SignedData (the `Mdm-Signature` header, docs/DEVICE-MANAGEMENT.md,
 * "Apple: device identity") that verifying it needs, straight from the DER bytes: the certificates,
 * the one signer's issuer and serial, its digest algorithm, its signed attributes and its signature.
 *
 * Every request of every device carries one, so this is on the hot path of the check-in loop: a
 * schema-driven ASN.1 library (@peculiar/asn1-cms over asn1js) spent several milliseconds per
 * request building objects nobody reads (docs/BENCHMARKS.md, "Apple MDM: the command loop"). This
 * reader only walks tag-length-value headers and hands out slices of the input; anything it does
 * not expect is an error (CmsFormatError), never a guess.
 */

export class CmsFormatError extends Error {}

const oidSignedData = Buffer.from('2a864886f70d010702', 'hex'); // 1.2.840.113549.1.7.2
const oidMessageDigest = Buffer.from('2a864886f70d010904', 'hex'); // 1.2.840.113549.1.9.4

/** One DER element: its tag byte, its contents and the whole encoding (header included). */
interface Element {
  tag: number;
  content: Buffer;
  raw: Buffer;
}

/** The element starting at `at`, and where the next one starts. Definite lengths only (DER). */
function element(buf: Buffer, at: number): { el: Element; next: number } {
  if (at + 2 > buf.length) throw new CmsFormatError('truncated');
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new CmsFormatError('multi-byte tags are not used in CMS');
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new CmsFormatError('indefinite or oversized length');
    if (start + n > buf.length) throw new CmsFormatError('truncated');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > buf.length) throw new CmsFormatError('truncated');
  return { el: { tag, content: buf.subarray(start, end), raw: buf.subarray(at, end) }, next: end };
}

/** The elements inside a constructed element's contents. */
function children(content: Buffer): Element[] {
  const out: Element[] = [];
  for (let at = 0; at < content.length;) {
    const { el, next } = element(content, at);
    out.push(el);
    at = next;
  }
  return out;
}

function expect(el: Element | undefined, tag: number, what: string): Element {
  if (!el || el.tag !== tag) throw new CmsFormatError(`expected ${what}`);
  return el;
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID = 0x06;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;

export interface CmsSignerParts {
  /** DER of every certificate the structure carries. */
  certificates: Buffer[];
  /** The signer's issuer (DER of the Name) and serial number (INTEGER contents), or undefined for a subjectKeyIdentifier sid. */
  sid?: { issuer: Buffer; serial: Buffer };
  /** The digest algorithm's OID, dotted. */
  digestOid: string;
  /** The signed attributes re-encoded as a SET (what the signature covers), and the messageDigest among them. */
  signedAttrs?: { set: Buffer; messageDigest?: Buffer };
  signature: Buffer;
  signerCount: number;
}

export function oidToString(bytes: Buffer): string {
  const parts: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** Parses ContentInfo { signedData, [0] SignedData } as RFC 5652 §5 lays it out. */
export function readCmsSignature(der: Buffer): CmsSignerParts {
  const { el: info, next } = element(der, 0);
  if (next !== der.length) throw new CmsFormatError('trailing bytes');
  const [type, wrapped] = children(expect(info, SEQUENCE, 'ContentInfo').content);
  if (!expect(type, OID, 'content type').content.equals(oidSignedData)) throw new CmsFormatError('not signed data');
  const [signedData] = children(expect(wrapped, 0xa0, '[0] content').content);
  const fields = children(expect(signedData, SEQUENCE, 'SignedData').content);
  // version, digestAlgorithms, encapContentInfo, [0] certificates?, [1] crls?, signerInfos
  expect(fields[0], INTEGER, 'version');
  let i = 3;
  const certificates: Buffer[] = [];
  if (fields[i]?.tag === 0xa0) {
    for (const c of children(fields[i]!.content)) if (c.tag === SEQUENCE) certificates.push(c.raw);
    i++;
  }
  if (fields[i]?.tag === 0xa1) i++;
  const signers = children(expect(fields[i], SET, 'signerInfos').content);
  const signer = children(expect(signers[0], SEQUENCE, 'SignerInfo').content);
  // version, sid, digestAlgorithm, [0] signedAttrs?, signatureAlgorithm, signature, [1] unsignedAttrs?
  const sidEl = signer[1];
  let sid: CmsSignerParts['sid'];
  if (sidEl?.tag === SEQUENCE) {
    const [issuer, serial] = children(sidEl.content);
    sid = { issuer: expect(issuer, SEQUENCE, 'issuer').raw, serial: expect(serial, INTEGER, 'serial').content };
  } else if (sidEl?.tag !== 0x80) throw new CmsFormatError('expected sid');
  const [digestOid] = children(expect(signer[2], SEQUENCE, 'digestAlgorithm').content);
  let j = 3;
  let signedAttrs: CmsSignerParts['signedAttrs'];
  if (signer[j]?.tag === 0xa0) {
    const attrs = signer[j]!;
    let messageDigest: Buffer | undefined;
    for (const a of children(attrs.content)) {
      const [attrType, values] = children(expect(a, SEQUENCE, 'Attribute').content);
      if (expect(attrType, OID, 'attribute type').content.equals(oidMessageDigest)) {
        messageDigest = expect(children(expect(values, SET, 'attribute values').content)[0], OCTET_STRING, 'messageDigest').content;
      }
    }
    // The signature covers the attributes as a SET OF: the same bytes with the universal SET tag.
    const set = Buffer.from(attrs.raw);
    set[0] = SET;
    signedAttrs = messageDigest ? { set, messageDigest } : { set };
    j++;
  }
  expect(signer[j], SEQUENCE, 'signatureAlgorithm');
  const signature = expect(signer[j + 1], OCTET_STRING, 'signature').content;
  return {
    certificates,
    ...(sid ? { sid } : {}),
    digestOid: oidToString(expect(digestOid, OID, 'digest algorithm').content),
    ...(signedAttrs ? { signedAttrs } : {}),
    signature,
    signerCount: signers.length,
  };
}

/** The issuer (DER of the Name) and serial number (INTEGER contents) of a certificate. */
export function issuerAndSerial(certDer: Buffer): { issuer: Buffer; serial: Buffer } {
  const [tbs] = children(expect(element(certDer, 0).el, SEQUENCE, 'Certificate').content);
  const f = children(expect(tbs, SEQUENCE, 'TBSCertificate').content);
  const k = f[0]?.tag === 0xa0 ? 1 : 0;
  return { serial: expect(f[k], INTEGER, 'serial').content, issuer: expect(f[k + 2], SEQUENCE, 'issuer').raw };
}
