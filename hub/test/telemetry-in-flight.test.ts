/**
 * The embedded telemetry store's record of writes in flight (hub/src/telemetry/store/embedded/in-flight.ts):
 * a compaction waits for every append issued before it, whatever order they land in, and for none
 * issued after it.
 */
import { describe, expect, it } from 'vitest';
import { InFlight } from '../src/telemetry/store/embedded/in-flight.js';

/** Whether the promise has settled once pending callbacks have run. */
async function isSettled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('writes in flight', () => {
  it('settles at once when nothing is in flight', async () => {
    const w = new InFlight();
    w.end(w.begin());
    expect(await isSettled(w.settled())).toBe(true);
  });

  it('waits for every write begun before, in any order, and for none begun after', async () => {
    const w = new InFlight();
    const a = w.begin();
    const b = w.begin();
    const waiting = w.settled();
    const later = w.begin();
    w.end(b);
    expect(await isSettled(waiting)).toBe(false);
    w.end(a);
    expect(await isSettled(waiting)).toBe(true);
    // The write begun after is still in flight; a new wait covers it.
    const second = w.settled();
    expect(await isSettled(second)).toBe(false);
    w.end(later);
    expect(await isSettled(second)).toBe(true);
  });
});
