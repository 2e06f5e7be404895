/**
 * The little DER the issuance path needs: reading a PKCS#10 request's tag-length-value elements as
 * slices of the input, and writing a certificate's. A schema-driven ASN.1 stack (asn1js with pkijs,
 * @peculiar/asn1-schema under @peculiar/x509) spent most of an issuance building and rebuilding
 * objects nobody reads (docs/BENCHMARKS.md, "Where the microseconds per certificate go"); here a
 * request is read once and a certificate is written once, by concatenating byte slices.
 *
 * Reading is strict where it matters (definite lengths only, every element inside its parent, no
 * bytes left over) and refuses with DerError, which callers turn into their documented error code.
 */

export class DerError extends Error {
  override readonly name = 'DerError';
}

export const tags = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
} as const;

/** One element: its tag byte, its contents and its whole encoding (header included), both views of the input. */
export interface DerElement {
  tag: number;
  content: Buffer;
  raw: Buffer;
}

/** The element at `at` in `buf`, and where the next one starts. */
export function readElement(buf: Buffer, at: number): { el: DerElement; next: number } {
  if (at + 2 > buf.length) throw new DerError('truncated element');
  const tag = buf[at]!;
  // Single-byte tags are all PKCS#10 and X.509 use.
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('indefinite length (BER, not DER)');
    if (n > 4) throw new DerError('length too large');
    if (start + n > buf.length) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > buf.length) throw new DerError('element longer than its container');
  return { el: { tag, content: buf.subarray(start, end), raw: buf.subarray(at, end) }, next: end };
}

/** The only element of `buf`: nothing may follow it. */
export function readSingle(buf: Buffer): DerElement {
  const { el, next } = readElement(buf, 0);
  if (next !== buf.length) throw new DerError('bytes after the element');
  return el;
}

/** The elements inside a constructed element's contents. */
export function readChildren(content: Buffer): DerElement[] {
  const out: DerElement[] = [];
  for (let at = 0; at < content.length;) {
    const { el, next } = readElement(content, at);
    out.push(el);
    at = next;
  }
  return out;
}

/** `el` if it has `tag`, else a DerError naming `what`. */
export function expectTag(el: DerElement | undefined, tag: number, what: string): DerElement {
  if (!el || el.tag !== tag) throw new DerError(`expected ${what}`);
  return el;
}

/** Dotted form of an OBJECT IDENTIFIER's contents. */
export function oidToString(bytes: Buffer): string {
  if (bytes.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError('OBJECT IDENTIFIER arc too large');
    if (!(b & 0x80)) {
      arcs.push(value);
      value = 0;
    } else if (i === bytes.length - 1) throw new DerError('truncated OBJECT IDENTIFIER');
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** An element of `tag` around the concatenated `parts`, written into one buffer. */
export function encode(tag: number, ...parts: Buffer[]): Buffer {
  let length = 0;
  for (const p of parts) length += p.length;
  const lengthOctets = length < 0x80 ? 0 : length < 0x100 ? 1 : length < 0x10000 ? 2 : length < 0x1000000 ? 3 : 4;
  const out = Buffer.allocUnsafe(2 + lengthOctets + length);
  out[0] = tag;
  if (lengthOctets === 0) out[1] = length;
  else {
    out[1] = 0x80 | lengthOctets;
    for (let i = lengthOctets, n = length; i >= 1; i--, n = Math.floor(n / 256)) out[1 + i] = n & 0xff;
  }
  let at = 2 + lengthOctets;
  for (const p of parts) at += p.copy(out, at);
  return out;
}

export const sequence = (...parts: Buffer[]): Buffer => encode(tags.SEQUENCE, ...parts);

/** A non-negative INTEGER from big-endian magnitude bytes (leading zeros trimmed, a 0x00 added when the top bit is set). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  return encode(tags.INTEGER, ...(trimmed.length === 0 || trimmed[0]! & 0x80 ? [Buffer.from([0]), trimmed] : [trimmed]));
}

/** OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (n: number) => {
    const groups = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return encode(tags.OID, Buffer.from(out));
}

/** BIT STRING with no unused bits. */
export const bitString = (bytes: Buffer): Buffer => encode(tags.BIT_STRING, Buffer.from([0]), bytes);

export const octetString = (bytes: Buffer): Buffer => encode(tags.OCTET_STRING, bytes);

/**
 * RFC 5280 §4.1.2.5: UTCTime (YYMMDDHHMMSSZ) for the years 1950 to 2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) from 2050 on; seconds precision, always UTC.
 */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return encode(tags.UTC_TIME, Buffer.from(digits.slice(2), 'latin1'));
  return encode(tags.GENERALIZED_TIME, Buffer.from(digits, 'latin1'));
}

/** PEM with 64-character lines, no newline after the last line (the form the service has always returned). */
export function toPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`;
}
