/**
 * When a series' head rows move into its blocks (docs/PERFORMANCE-NOTES.md, "Telemetry store").
 *
 * Each series comes due after its own number of head rows, between COMPACT_AT and twice that,
 * fixed by its id. Devices of a fleet often post at one period, and after a hub start all of them
 * begin counting together: with one threshold for all, every series came due in the same append
 * and their compactions queued up in front of the next posts' commits (hundreds of milliseconds of
 * latency at once, bench:cluster). Spread over a whole threshold's range, about one series in
 * COMPACT_AT comes due per round of posts, and none waits longer than twice COMPACT_AT rows.
 */

/** The fewest head rows after which a series moves into blocks. */
export const COMPACT_AT = 256;

/** Head rows of the series `seriesId` after which they move into blocks: COMPACT_AT ≤ n < 2 × COMPACT_AT. */
export function compactionThreshold(seriesId: string): number {
  // FNV-1a over the UTF-16 code units: cheap, and different ids spread evenly.
  let h = 0x811c9dc5;
  for (let i = 0; i < seriesId.length; i++) h = Math.imul(h ^ seriesId.charCodeAt(i), 0x01000193);
  return COMPACT_AT + ((h >>> 0) % COMPACT_AT);
}
