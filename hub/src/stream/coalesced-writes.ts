/**
 * An application's stream connection sends what was written to it in one event-loop turn as one
 * system write (docs/BENCHMARKS.md, "Device → application latency: the tail").
 *
 * aedes delivers each stream event to a subscriber in a `setImmediate` of its own, and its encoder
 * corks the connection for the packet and uncorks it on the next tick, so every event became a
 * `writev` of its own even when a store commit released several at once. Here the first cork of a
 * turn adds one more cork of our own, released by one `setImmediate`: the events delivered
 * together leave together, in order, one loop turn later. The encoder's own cork and uncork pairs
 * are untouched, and `end()`, which collapses every cork and flushes, still ends the connection at
 * once (the later release then finds nothing corked and does nothing).
 */
import type { Writable } from 'node:stream';

export function coalesceWrites(conn: Pick<Writable, 'cork' | 'uncork'>): void {
  const cork = conn.cork.bind(conn);
  const uncork = conn.uncork.bind(conn);
  let holding = false;
  const release = (): void => {
    holding = false;
    uncork();
  };
  conn.cork = (): void => {
    if (!holding) {
      holding = true;
      cork();
      setImmediate(release);
    }
    cork();
  };
}
