/**
 * Series history in time blocks (block.ts) beside the row-per-sample head the store appends to
 * (docs/PERFORMANCE-NOTES.md, "Telemetry store"):
 *
 *   samples  [assetId, pointId, time, tie?] → { v, q?, r? }   the head: small appends land here
 *   blocks   [assetId, pointId, firstTime]  → packed block     up to BLOCK_ROWS rows, never overlapping;
 *                                                              rows before firstTime are hidden (retention)
 *   ages     [firstTime, assetId, pointId]  → { l, n }         last time and row count of each block
 *
 * `compact` moves head rows (and a large append's rows directly) into blocks, inside a write
 * transaction; `planCompaction` + `applyCompaction` do the same in two steps, so that the reading
 * and encoding can happen outside one. Readers merge the blocks with the head, the head winning
 * where both hold the same sample (it was written later).
 * `ages` lets the retention sweep find the blocks it removes without visiting any other.
 * Every function here runs inside the caller's write transaction or batch, or reads a snapshot.
 */
import type { Database } from 'lmdb';
import type { Order } from '../port.js';
import { BLOCK_ROWS, decodeBlock, encodeBlock, type BlockRow } from './block.js';

export type SeriesKey = [string, string, number] | [string, string, number, string];
export type BlockKey = [string, string, number];
export type AgeKey = [number, string, string];

export interface HeadValue {
  v: unknown;
  q?: number;
  r?: true;
}
export interface AgeValue {
  /** Time of the block's last row. */
  l: number;
  /** Rows in the block. */
  n: number;
}

export interface SeriesDbs {
  samples: Database<HeadValue, SeriesKey>;
  blocks: Database<Buffer, BlockKey>;
  ages: Database<AgeValue, AgeKey>;
}

/** (time, tie) order; '' (device-dated) first within a millisecond, as in the head's keys. */
export const compareRows = (a: { time: number; tie: string }, b: { time: number; tie: string }): number =>
  a.time - b.time || (a.tie < b.tie ? -1 : a.tie > b.tie ? 1 : 0);

const headRow = (key: SeriesKey, value: HeadValue): BlockRow => {
  const row: BlockRow = { time: key[2], tie: key[3] ?? '', v: value.v };
  if (value.q !== undefined) row.q = value.q;
  if (value.r) row.r = true;
  return row;
};

/**
 * Merges into the series' blocks: its head rows within [lo, hi] of `incoming` (all of them up to
 * `headLimit` when there is no incoming) and `incoming` (sorted, one row per identity), which
 * wins over both. The head rows taken are removed. Returns how many head rows were moved.
 */
export function compact(dbs: SeriesDbs, assetId: string, pointId: string, incoming: BlockRow[], headLimit = Infinity): number {
  const p = planCompaction(dbs, assetId, pointId, incoming, headLimit);
  if (!p) return 0;
  applyCompaction(dbs, p);
  return p.headKeys.length;
}

/** What a compaction reads and encodes, ready to be written (applyCompaction). */
export interface CompactionPlan {
  assetId: string;
  pointId: string;
  /** First times of the blocks it replaces. */
  oldFirsts: number[];
  /** The blocks that replace them, encoded. */
  newBlocks: { first: number; bytes: Buffer; age: AgeValue }[];
  /** The head rows moved into them, to be removed. */
  headKeys: SeriesKey[];
  /** Time of the newest head row read (-Infinity when none was). */
  headHi: number;
}

/**
 * Reads and encodes a compaction (see `compact`) without writing anything; undefined when there
 * is nothing to move. Inside a write transaction it sees that transaction; outside one, the last
 * committed state.
 */
export function planCompaction(
  dbs: SeriesDbs,
  assetId: string,
  pointId: string,
  incoming: BlockRow[],
  headLimit = Infinity,
): CompactionPlan | undefined {
  const head: BlockRow[] = [];
  const headKeys: SeriesKey[] = [];
  const range =
    incoming.length > 0
      ? {
          start: [assetId, pointId, incoming[0]!.time] as SeriesKey,
          end: [assetId, pointId, incoming[incoming.length - 1]!.time + 1] as SeriesKey,
        }
      : { start: [assetId, pointId, 0] as SeriesKey, end: [assetId, pointId, Number.MAX_SAFE_INTEGER] as SeriesKey, limit: headLimit };
  for (const { key, value } of dbs.samples.getRange(range)) {
    head.push(headRow(key, value));
    headKeys.push(key);
  }
  const fresh = mergeRuns(head, incoming);
  if (fresh.length === 0) return undefined;
  const lo = fresh[0]!.time;
  const hi = fresh[fresh.length - 1]!.time;

  // The blocks the new rows fall into: the one starting at or before lo (unless it is full and
  // ends before lo: nothing of it changes), and every one starting within (lo, hi].
  const oldFirsts: number[] = [];
  for (const key of dbs.blocks.getKeys({ start: [assetId, pointId, lo], end: [assetId, pointId], reverse: true, limit: 1 })) {
    const age = dbs.ages.get([key[2], assetId, pointId]);
    if (!age || age.n < BLOCK_ROWS || age.l >= lo) oldFirsts.push(key[2]);
  }
  for (const key of dbs.blocks.getKeys({ start: [assetId, pointId, lo + 1], end: [assetId, pointId, hi + 1] })) oldFirsts.push(key[2]);
  let old: BlockRow[] = [];
  for (const first of oldFirsts) {
    const block = dbs.blocks.get([assetId, pointId, first]);
    if (block) old = old.concat(visibleRows(block, first));
  }
  const newBlocks: CompactionPlan['newBlocks'] = [];
  for (const rows of split(mergeRuns(old, fresh))) {
    newBlocks.push({ first: rows[0]!.time, bytes: encodeBlock(rows), age: { l: rows[rows.length - 1]!.time, n: rows.length } });
  }
  const headHi = headKeys.length > 0 ? headKeys[headKeys.length - 1]![2] : Number.NEGATIVE_INFINITY;
  return { assetId, pointId, oldFirsts, newBlocks, headKeys, headHi };
}

/**
 * Writes a planned compaction, inside the caller's write transaction (where LMDB carries out each
 * write at once) or inside the caller's `batch` (where the writes are queued together).
 */
export function applyCompaction(dbs: SeriesDbs, p: CompactionPlan): void {
  const { assetId, pointId } = p;
  for (const first of p.oldFirsts) {
    void dbs.blocks.remove([assetId, pointId, first]);
    void dbs.ages.remove([first, assetId, pointId]);
  }
  for (const b of p.newBlocks) {
    void dbs.blocks.put([assetId, pointId, b.first], b.bytes);
    void dbs.ages.put([b.first, assetId, pointId], b.age);
  }
  for (const key of p.headKeys) void dbs.samples.remove(key);
}

/** Two sorted runs as one; where both hold the same (time, tie), the second's row wins. */
export function mergeRuns(older: BlockRow[], newer: BlockRow[]): BlockRow[] {
  if (older.length === 0) return newer;
  if (newer.length === 0) return older;
  const out: BlockRow[] = [];
  let i = 0;
  let j = 0;
  while (i < older.length && j < newer.length) {
    const c = compareRows(older[i]!, newer[j]!);
    if (c < 0) out.push(older[i++]!);
    else {
      if (c === 0) i++;
      out.push(newer[j++]!);
    }
  }
  while (i < older.length) out.push(older[i++]!);
  while (j < newer.length) out.push(newer[j++]!);
  return out;
}

/** A block's rows from its key's time on: earlier ones were removed by retention (see sweepBlocks). */
function visibleRows(block: Uint8Array, first: number): BlockRow[] {
  const rows = decodeBlock(block);
  return rows.length > 0 && rows[0]!.time < first ? rows.filter((r) => r.time >= first) : rows;
}

/** Cuts sorted rows into blocks of at most BLOCK_ROWS, never inside a millisecond (block keys are first times). */
function* split(rows: BlockRow[]): Generator<BlockRow[]> {
  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i === rows.length || (i - start >= BLOCK_ROWS && rows[i]!.time !== rows[i - 1]!.time)) {
      yield rows.slice(start, i);
      start = i;
    }
  }
}

/** The series' block rows with lo <= time <= hi, in the order asked, decoding one block at a time. */
export function* blockRows(dbs: SeriesDbs, assetId: string, pointId: string, lo: number, hi: number, order: Order): Generator<BlockRow> {
  if (order === 'ASC') {
    const firsts: number[] = [];
    for (const key of dbs.blocks.getKeys({ start: [assetId, pointId, lo], end: [assetId, pointId], reverse: true, limit: 1 }))
      firsts.push(key[2]);
    for (const first of firsts) yield* rowsOf(dbs, assetId, pointId, first, lo, hi, false);
    for (const key of dbs.blocks.getKeys({ start: [assetId, pointId, lo + 1], end: [assetId, pointId, hi + 1] }))
      yield* rowsOf(dbs, assetId, pointId, key[2], lo, hi, false);
    return;
  }
  for (const key of dbs.blocks.getKeys({
    start: [assetId, pointId, hi + 1],
    end: [assetId, pointId],
    reverse: true,
    exclusiveStart: true,
  })) {
    yield* rowsOf(dbs, assetId, pointId, key[2], lo, hi, true);
    if (key[2] <= lo) return;
  }
}

function* rowsOf(
  dbs: SeriesDbs,
  assetId: string,
  pointId: string,
  first: number,
  lo: number,
  hi: number,
  reverse: boolean,
): Generator<BlockRow> {
  const block = dbs.blocks.get([assetId, pointId, first]);
  if (!block) return;
  const rows = visibleRows(block, first);
  if (reverse) rows.reverse();
  for (const r of rows) if (r.time >= lo && r.time <= hi) yield r;
}

/** The head's rows with lo <= time <= hi, every tie included, in the order asked. */
export function* headRows(dbs: SeriesDbs, assetId: string, pointId: string, lo: number, hi: number, order: Order): Generator<BlockRow> {
  const low: SeriesKey = [assetId, pointId, lo];
  const above: SeriesKey = [assetId, pointId, hi + 1];
  const rows =
    order === 'ASC'
      ? dbs.samples.getRange({ start: low, end: above })
      : dbs.samples.getRange({ start: above, end: low, exclusiveStart: true, inclusiveEnd: true, reverse: true });
  for (const { key, value } of rows) yield headRow(key, value);
}

/** Blocks and head as one run in the order asked; the head's row wins where both hold the same sample. */
export function* seriesRows(dbs: SeriesDbs, assetId: string, pointId: string, lo: number, hi: number, order: Order): Generator<BlockRow> {
  const sign = order === 'ASC' ? 1 : -1;
  const blocks = blockRows(dbs, assetId, pointId, lo, hi, order);
  const head = headRows(dbs, assetId, pointId, lo, hi, order);
  let b = blocks.next();
  let h = head.next();
  while (!b.done || !h.done) {
    if (h.done) {
      yield b.value as BlockRow;
      b = blocks.next();
    } else if (b.done) {
      yield h.value;
      h = head.next();
    } else {
      const c = sign * compareRows(b.value, h.value);
      if (c < 0) {
        yield b.value;
        b = blocks.next();
      } else {
        if (c === 0) b = blocks.next();
        yield h.value;
        h = head.next();
      }
    }
  }
}

/**
 * Removes block rows older than `before`, up to `maxBlocks` blocks: whole blocks where all rows
 * are older, the older part of a block that straddles `before`. Returns the rows removed and
 * whether blocks remain to look at.
 */
export function sweepBlocks(dbs: SeriesDbs, before: number, maxBlocks: number): { removed: number; more: boolean } {
  let removed = 0;
  // A whole block costs a delete; re-packing a straddling one costs about as much as 32 deletes.
  let budget = maxBlocks;
  const due = [...dbs.ages.getRange({ end: [before], limit: maxBlocks + 1 })];
  let i = 0;
  for (; i < due.length && budget > 0; i++) {
    const { key, value } = due[i]!;
    const [first, assetId, pointId] = key;
    dbs.ages.removeSync(key);
    if (value.l < before) {
      dbs.blocks.removeSync([assetId, pointId, first]);
      removed += value.n;
      budget--;
      continue;
    }
    budget -= 16;
    const block = dbs.blocks.get([assetId, pointId, first]);
    dbs.blocks.removeSync([assetId, pointId, first]);
    if (!block) continue;
    // The block keeps its bytes under a later key: rows before the key's time are hidden from
    // every reader and dropped when the block is next re-packed (no re-encoding here).
    const rows = visibleRows(block, first);
    const keep = rows.filter((r) => r.time >= before);
    removed += rows.length - keep.length;
    if (keep.length === 0) continue;
    const from = keep[0]!.time;
    dbs.blocks.putSync([assetId, pointId, from], block);
    dbs.ages.putSync([from, assetId, pointId], { l: value.l, n: keep.length });
  }
  return { removed, more: i < due.length };
}
