/**
 * The head-to-block schedule of the embedded telemetry store: series that post in lockstep (a fleet
 * on one period, all counting from a hub start) must not all come due in the same round, and no
 * series' head may grow without bound.
 */
import { describe, expect, it } from 'vitest';
import { COMPACT_AT, compactionThreshold } from '../src/telemetry/store/embedded/compaction-schedule.js';

/** Series ids as the store forms them: `${assetId}\0${pointId}`, 100 devices × 2 measurepoints. */
const fleet = Array.from({ length: 100 }, (_, i) => [`Dev${String(i).padStart(4, '0')}`, `asset-${i}-x`]).flatMap(([, assetId]) =>
  ['temperature', 'humidity'].map((pointId) => `${assetId}\u0000${pointId}`),
);

describe('compaction schedule', () => {
  it('gives each series a threshold of its own between COMPACT_AT and twice that, the same every time', () => {
    for (const id of fleet) {
      const at = compactionThreshold(id);
      expect(at).toBeGreaterThanOrEqual(COMPACT_AT);
      expect(at).toBeLessThan(2 * COMPACT_AT);
      expect(Number.isInteger(at)).toBe(true);
      expect(compactionThreshold(id)).toBe(at);
    }
  });

  it('spreads a fleet posting in lockstep: few series come due in any one round', () => {
    const counts = new Map(fleet.map((id) => [id, 0]));
    let worst = 0;
    let compactions = 0;
    for (let round = 0; round < 4 * COMPACT_AT; round++) {
      let due = 0;
      for (const id of fleet) {
        const n = counts.get(id)! + 1;
        if (n >= compactionThreshold(id)) {
          due++;
          counts.set(id, 0);
        } else counts.set(id, n);
      }
      worst = Math.max(worst, due);
      compactions += due;
    }
    // One threshold for all made every one of the 200 series due in the same round.
    expect(worst).toBeLessThanOrEqual(8);
    // Every series still moves its head at least every 2 × COMPACT_AT rows.
    expect(compactions).toBeGreaterThanOrEqual(2 * fleet.length);
  });
});
