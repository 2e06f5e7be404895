import { describe, expect, it } from 'vitest';
import { newTie } from '../src/telemetry/store/series.js';

/**
 * Tie-breakers of hub-dated rows (hub/src/telemetry/store/series.ts): rows of one millisecond are
 * kept in arrival order because their ties sort as strings in the order they were made.
 */
describe('newTie', () => {
  it('gives 14 hex digits of an increasing counter and the process tag, in string order, across every carry of its cached head', () => {
    const ties = Array.from({ length: 20_000 }, () => newTie());
    const tag = ties[0]!.slice(14);
    expect(tag).toMatch(/^[0-9a-f]{8}$/);
    const wrong: string[] = [];
    let previous = -1;
    for (let i = 0; i < ties.length; i++) {
      const tie = ties[i]!;
      const counter = parseInt(tie.slice(0, 14), 16);
      const fits =
        /^[0-9a-f]{22}$/.test(tie) &&
        tie.slice(14) === tag &&
        counter.toString(16).padStart(14, '0') === tie.slice(0, 14) &&
        counter > previous &&
        (i === 0 || tie > ties[i - 1]!);
      if (!fits) wrong.push(`${i}: ${tie}`);
      previous = counter;
    }
    expect(wrong).toEqual([]);
    // The counter follows the clock: 1024 per millisecond.
    expect(parseInt(ties.at(-1)!.slice(0, 14), 16)).toBeGreaterThanOrEqual(Date.now() * 1024 - 1024 * 60_000);
  });
});
