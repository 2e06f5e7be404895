import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { safeEqual, safeEqualHex } from '../src/signing/compare.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Constant-time comparisons of secrets and signatures (shared/src/signing/compare.ts). */
describe('safeEqualHex', () => {
  it('matches a SHA-256 signature in either hex case, and nothing that differs in one digit', () => {
    const d = sha('request');
    expect(safeEqualHex(d, d)).toBe(true);
    expect(safeEqualHex(d, d.toUpperCase())).toBe(true);
    for (const i of [0, 31, 63]) {
      const other = d.slice(0, i) + (d[i] === '0' ? '1' : '0') + d.slice(i + 1);
      expect(safeEqualHex(d, other)).toBe(false);
    }
    expect(safeEqualHex(d, sha('other'))).toBe(false);
  });

  it('refuses a truncated, extended or non-hex signature', () => {
    const d = sha('request');
    expect(safeEqualHex(d, d.slice(0, 62))).toBe(false);
    expect(safeEqualHex(d, `${d}00`)).toBe(false);
    expect(safeEqualHex(d, `${d.slice(0, 63)}g`)).toBe(false);
    expect(safeEqualHex(d, '')).toBe(false);
  });

  it('still compares hex strings of other lengths case-insensitively', () => {
    expect(safeEqualHex('abcdef', 'ABCDEF')).toBe(true);
    expect(safeEqualHex('abcdef', 'abcdee')).toBe(false);
    expect(safeEqual('secret', 'secret')).toBe(true);
    expect(safeEqual('secret', 'secreT')).toBe(false);
  });
});
