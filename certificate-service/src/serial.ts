import { randomBytes } from 'node:crypto';
import { CertificateError } from './errors.js';

/**
 * A certificate serial in the two spellings callers use: `certSN`, the decimal EnOS exposes
 * (§6: certSN 32720 = 0x7FD0), and `serialHex`, what TLS stacks report (Node's
 * `peerCertificate.serialNumber`, openssl's CRL listing). `serialHex` is canonical: lowercase,
 * no leading zeros.
 */
export interface Serial {
  certSN: string;
  serialHex: string;
}

/**
 * Default size of a random serial: 53 bits, i.e. at most Number.MAX_SAFE_INTEGER. EnOS clients send
 * `certSn` back as a JSON *number* (§7.3 renew/revoke: `"certSn":52739 (M, int)`), and JSON.parse in
 * the hub (or a JavaScript client) silently rounds anything larger, which would make renew/revoke
 * address the wrong certificate. 53 random bits still make serials unguessable; uniqueness is
 * enforced by the store, not by luck. Operators who never use numeric certSn can raise it up to 159
 * bits (20 octets with the high bit clear, RFC 5280 §4.1.2.2).
 */
export const DEFAULT_SERIAL_BITS = 53;

export function randomSerial(bits: number = DEFAULT_SERIAL_BITS): Serial {
  if (!Number.isInteger(bits) || bits < 32 || bits > 159) throw new RangeError(`serialBits must be an integer in 32..159, got ${bits}`);
  const bytes = randomBytes(Math.ceil(bits / 8));
  let value = BigInt('0x' + bytes.toString('hex')) & ((1n << BigInt(bits)) - 1n);
  // Positive and non-zero; the top bit forced on keeps every serial the same length, so no serial
  // is a short, guessable number and DER never needs a leading zero trimmed.
  value |= 1n << BigInt(bits - 1);
  return fromBigInt(value);
}

function fromBigInt(value: bigint): Serial {
  return { certSN: value.toString(10), serialHex: value.toString(16) };
}

/** Canonical hex of a hex serial as any tool prints it: `7FD0`, `00:7f:d0`, `0x7fd0`. */
export function normalizeSerialHex(hex: string): string {
  const cleaned = hex.trim().replace(/^0x/i, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,42}$/.test(cleaned))
    throw new CertificateError('request.invalid', `not a hexadecimal serial: ${JSON.stringify(hex).slice(0, 64)}`);
  return BigInt('0x' + cleaned).toString(16);
}

/** A serial given as the EnOS decimal certSN (string or safe integer). */
export function serialFromCertSN(certSN: string | number): Serial {
  if (typeof certSN === 'number') {
    if (!Number.isSafeInteger(certSN) || certSN <= 0)
      throw new CertificateError('request.invalid', `certSN must be a positive integer, got ${certSN}`);
    return fromBigInt(BigInt(certSN));
  }
  if (!/^[1-9][0-9]{0,48}$/.test(certSN.trim()))
    throw new CertificateError('request.invalid', `certSN must be a positive decimal integer, got ${JSON.stringify(certSN).slice(0, 64)}`);
  return fromBigInt(BigInt(certSN.trim()));
}

export function serialFromHex(hex: string): Serial {
  return fromBigInt(BigInt('0x' + normalizeSerialHex(hex)));
}

/** How callers name a certificate: its decimal certSN or its hex serial. */
export type SerialRef = { certSN: string | number } | { serialHex: string };

export function resolveSerial(ref: SerialRef): Serial {
  if (ref && typeof ref === 'object') {
    if ('certSN' in ref && ref.certSN !== undefined) return serialFromCertSN(ref.certSN);
    if ('serialHex' in ref && typeof ref.serialHex === 'string') return serialFromHex(ref.serialHex);
  }
  throw new CertificateError('request.invalid', 'a certificate is named by certSN or serialHex');
}
