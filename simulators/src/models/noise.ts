/**
 * Deterministic noise: the same seed, channel and step always give the same number, so a test that
 * fixes the seed and the clock can predict every value a simulator serves.
 */

/** A number in [-1, 1) from a 32-bit integer hash of (seed, channel, step). */
export function noise(seed: number, channel: number, step: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(channel + 1, 0xc2b2ae35) ^ Math.imul(step | 0, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 0x80000000 - 1;
}

/** A number in [0, 1) fixed for a seed: per-unit variation such as a starting state of charge. */
export function unit(seed: number, channel: number): number {
  return (noise(seed, channel, -1) + 1) / 2;
}
