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

/** A write in flight, settled by the test: `end` fulfils it, `fail` rejects it. */
function write(w: InFlight): { end: () => void; fail: () => void } {
  let end = () => {};
  let fail = () => {};
  const p = new Promise<void>((resolve, reject) => {
    end = resolve;
    fail = () => reject(new Error('write failed'));
  });
  w.track(p).catch(() => undefined);
  return { end, fail };
}

describe('writes in flight', () => {
  it('settles at once when nothing is in flight', async () => {
    const w = new InFlight();
    write(w).end();
    await new Promise((r) => setImmediate(r));
    expect(await isSettled(w.settled())).toBe(true);
  });

  it('waits for every write begun before, in any order, and for none begun after', async () => {
    const w = new InFlight();
    const a = write(w);
    const b = write(w);
    const waiting = w.settled();
    const later = write(w);
    b.end();
    expect(await isSettled(waiting)).toBe(false);
    a.fail();
    expect(await isSettled(waiting)).toBe(true);
    // The write begun after is still in flight; a new wait covers it.
    const second = w.settled();
    expect(await isSettled(second)).toBe(false);
    later.end();
    expect(await isSettled(second)).toBe(true);
  });
});
