/**
 * When a series' head rows move into its blocks (docs/PERFORMANCE-NOTES.md, "Telemetry store").
 *
 * Each series comes due after its own number of head rows, between COMPACT_AT and twice that,
 * fixed by its id. Devices of a fleet often post at one period, and after a hub start all of them
 * begin counting together: with one threshold for all, every series came due in the same append
 * and their compactions queued up in front of the next posts' commits (hundreds of milliseconds of
 * latency at once, bench:cluster). Spread over a whole threshold's range, about one series in
 * COMPACT_AT comes due per round of posts, and none waits longer than twice COMPACT_AT rows.
 *
 * The first compactions of a process run code that is not compiled yet: reading and encoding a
 * head took 1–6 ms in them against 0.3–0.5 ms later, and the few that came due in the same
 * second left a queue of posts behind them on a busy core (a p99 of 19–35 ms in bench:cluster's
 * first 5,000 posts/s window, 4.2–4.7 ms with this rule). So until a store has run
 * COLD_COMPACTIONS of them since it opened, a series comes due after an eighth of its threshold:
 * the slow first ones are small, and they come early, while the hub has just started.
 */

/** The fewest head rows after which a series moves into blocks. */
export const COMPACT_AT = 256;

/** Compactions a store runs after opening before its series wait for their whole threshold. */
export const COLD_COMPACTIONS = 64;

/**
 * Head rows of the series `seriesId` after which they move into blocks: COMPACT_AT ≤ n < 2 × COMPACT_AT,
 * an eighth of that while the store is `cold` (fewer than COLD_COMPACTIONS compactions since it opened).
 */
export function compactionThreshold(seriesId: string, cold = false): number {
  // FNV-1a over the UTF-16 code units: cheap, and different ids spread evenly.
  let h = 0x811c9dc5;
  for (let i = 0; i < seriesId.length; i++) h = Math.imul(h ^ seriesId.charCodeAt(i), 0x01000193);
  const at = COMPACT_AT + ((h >>> 0) % COMPACT_AT);
  return cold ? at >> 3 : at;
}
