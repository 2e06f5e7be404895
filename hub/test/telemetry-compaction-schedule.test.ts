/**
 * The head-to-block schedule of the embedded telemetry store: series that post in lockstep (a fleet
 * on one period, all counting from a hub start) must not all come due in the same round, no
 * series' head may grow without bound, and a store's first compactions after opening are small.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { COLD_COMPACTIONS, COMPACT_AT, compactionThreshold } from '../src/telemetry/store/embedded/compaction-schedule.js';
import { openEmbeddedTelemetryStore } from '../src/telemetry/store/embedded/store.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

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

describe('the first compactions after opening', () => {
  it('come after an eighth of the threshold', () => {
    for (const id of fleet) {
      expect(compactionThreshold(id, true)).toBe(Math.floor(compactionThreshold(id) / 8));
      expect(compactionThreshold(id, true)).toBeGreaterThanOrEqual(COMPACT_AT / 8);
    }
  });

  it('are small until the store has run COLD_COMPACTIONS of them; then a series waits for its whole threshold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'telemetry-cold-'));
    dirs.push(dir);
    const store = await openEmbeddedTelemetryStore({ path: dir });
    // The store's head, read beside it: how many rows each series still has there.
    const env = open({ path: dir, maxDbs: 16 });
    const head = env.openDB({ name: 'samples', encoding: 'msgpack' });
    const headRows = (assetId: string) => head.getKeysCount({ start: [assetId], end: [assetId, '\uffff'] });
    const T = 1_700_000_000_000;
    const post = async (assetId: string, rows: number, from = 0) => {
      for (let i = from; i < from + rows; i++)
        await store.appendMeasurepoints([{ assetId, orgId: 'o', pointId: 'p', time: T + i * 1000, value: i }]);
    };
    const cold = Array.from({ length: COLD_COMPACTIONS }, (_, i) => `cold${i}`);
    for (const assetId of cold) await post(assetId, compactionThreshold(`${assetId}\u0000p`, true));
    // Each went into blocks after an eighth of its threshold.
    await vi.waitFor(() => expect(cold.map(headRows)).toEqual(cold.map(() => 0)), { timeout: 10_000, interval: 20 });

    // Now warm: a new series reaching its small threshold stays in the head. Compactions run in
    // the order series come due, so once a later series has gone into blocks, it would have too.
    const late = 'late';
    const small = compactionThreshold(`${late}\u0000p`, true);
    await post(late, small);
    await post('probe', compactionThreshold('probe\u0000p'));
    await vi.waitFor(() => expect(headRows('probe')).toBe(0), { timeout: 10_000, interval: 20 });
    expect(headRows(late)).toBe(small);
    // And goes into blocks at its whole threshold.
    await post(late, compactionThreshold(`${late}\u0000p`) - small, small);
    await vi.waitFor(() => expect(headRows(late)).toBe(0), { timeout: 10_000, interval: 20 });
    await store.close();
    await env.close();
  });
});
