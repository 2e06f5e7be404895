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

/** Hex digests compared case-insensitively (SDKs differ in hex case, docs/ENOS-PROTOCOL.md §0.2). */
export function safeEqualHex(a: string, b: string): boolean {
  return safeEqual(a.toLowerCase(), b.toLowerCase());
}
