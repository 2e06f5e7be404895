import { describe, expect, it } from 'vitest';
import { PendingWork } from '../src/commands/pending-work.js';

/** The in-memory "may have work" index of hub/src/commands/pending-work.ts. */
describe('PendingWork', () => {
  it('forgets a device only when the query that found nothing started after its last mark', () => {
    const work = new PendingWork();
    expect(work.has('pk/dk')).toBe(false);
    work.mark('pk/dk');
    expect(work.has('pk/dk')).toBe(true);

    // A query starts, work is queued meanwhile, the query (which could not see it) finds nothing.
    const stamp = work.stampOf('pk/dk');
    work.mark('pk/dk');
    work.clear('pk/dk', stamp);
    expect(work.has('pk/dk')).toBe(true);

    // The next query starts after that mark and finds nothing: now it is forgotten.
    work.clear('pk/dk', work.stampOf('pk/dk'));
    expect(work.has('pk/dk')).toBe(false);
    expect(work.size).toBe(0);
  });

  it('a query of an unmarked device that raced with a new mark keeps the mark', () => {
    const work = new PendingWork();
    const stamp = work.stampOf('pk/dk');
    expect(stamp).toBeUndefined();
    work.mark('pk/dk');
    work.clear('pk/dk', stamp);
    expect(work.has('pk/dk')).toBe(true);
  });
});
