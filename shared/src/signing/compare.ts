import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time comparison of two secrets or digests of any length: both sides are hashed
 * first so neither the content nor the length leaks through timing.
 */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** A SHA-256 digest in hex, either case: what every request signature and token encryption is. */
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Hex digests compared case-insensitively (SDKs differ in hex case, docs/ENOS-PROTOCOL.md §0.2).
 * Two SHA-256 digests (the signature of every signed request) are compared byte for byte in
 * constant time as they are: their length is public, so hashing them again, as `safeEqual` does,
 * would hide nothing and cost two more hashes per request (docs/BENCHMARKS.md, "REST registry").
 */
export function safeEqualHex(a: string, b: string): boolean {
  if (SHA256_HEX.test(a) && SHA256_HEX.test(b)) return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
  return safeEqual(a.toLowerCase(), b.toLowerCase());
}
