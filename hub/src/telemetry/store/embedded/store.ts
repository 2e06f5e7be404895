/**
 * The default telemetry store: an LMDB environment of its own (apart from the registry's, so that
 * high-rate telemetry writes never wait behind registry writes, nor the other way round, and so
 * the two can be backed up or wiped separately).
 *
 * Sub-databases:
 *   samples  [assetId, pointId, time, tie?] → { v, q?, r? }     the head: recent small appends
 *   blocks, ages                                                 compressed history (blocks.ts)
 *   events   [assetId, eventId, time, tie?] → { values }
 *   eventAges [time, assetId, eventId, tie?] → null              events by age, for retention
 *   latest   [assetId, 'm' | 'e', id] → { o: orgId, t, v, q? } | { o, t, values }
 *   meta     'format' → 2                                         the layout this file is in
 * The time is part of the key, so a device-dated sample with the same (asset, point, time)
 * overwrites the old one: the port's "last write wins" identity. A hub-dated sample carries a
 * fourth key part, a tie-breaker (series.ts `newTie`), so samples stamped in the same millisecond
 * are all kept; a 3-part key sorts before every 4-part key of its millisecond.
 *
 * An append is all or nothing whatever its size, and appends from the same tick share one commit.
 * An append that needs to read nothing first (no row goes into a block, and its latest values are
 * known to be the newest: LatestCeilings) is one batch of plain writes, which LMDB's writer thread
 * carries out on its own; any other is a child transaction, whose body runs on the main thread
 * inside the writer's transaction. The environment is opened without overlapping sync, so a commit has
 * reached the disk before the append's promise resolves, and the `_reply` waits for that
 * (docs/PERFORMANCE-NOTES.md, "Telemetry store"). A series' rows go to the head when an append
 * brings few of them, straight into its blocks when it brings many; a head that grew past
 * its threshold (compaction-schedule.ts) is moved into blocks after the append. A store written before blocks existed
 * is all head: it reads unchanged, and is moved into blocks in the background after opening.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { open, type RootDatabase } from 'lmdb';
import type {
  EventHistoryQuery,
  EventInput,
  HistoryQuery,
  LatestEvent,
  LatestSample,
  Page,
  SampleInput,
  StoredEvent,
  StoredSample,
  TelemetryStore,
} from '../port.js';
import {
  applyCompaction,
  compareRows,
  compact,
  planCompaction,
  seriesRows,
  sweepBlocks,
  type AgeKey,
  type AgeValue,
  type BlockKey,
  type HeadValue,
  type SeriesDbs,
  type SeriesKey,
} from './blocks.js';
import { COLD_COMPACTIONS, compactionThreshold } from './compaction-schedule.js';
import { InFlight } from './in-flight.js';
import type { BlockRow } from './block.js';
import {
  checkEvent,
  checkId,
  checkSample,
  checkTime,
  fromIterable,
  mergePage,
  newTie,
  plan,
  setOwn,
  type Plan,
  type PlannedSeries,
  type SeriesSource,
  type Tie,
} from '../series.js';

export interface EmbeddedTelemetryOptions {
  /** Directory of the LMDB environment; created (mode 0700) if missing. */
  path: string;
}

type LatestKey = [string, 'm' | 'e', string];
type EventAgeKey = [number, string, string] | [number, string, string, string];

const eventAgeKey = ([assetId, eventId, time, tie]: SeriesKey): EventAgeKey =>
  tie === undefined ? [time, assetId, eventId] : [time, assetId, eventId, tie];

interface EventValue {
  values: Record<string, unknown>;
}
interface LatestValue {
  o: string;
  t: number;
  v?: unknown;
  q?: number;
  values?: Record<string, unknown>;
}

/** Keys deleted per prune transaction, so a large prune never holds the single writer for long. */
const PRUNE_CHUNK = 5000;
/** Blocks looked at per prune transaction (each up to BLOCK_ROWS rows). */
const PRUNE_BLOCKS = 256;
/** A series' rows in one append from which they go straight into blocks. */
const DIRECT_ROWS = 64;
/** Series whose latest time is remembered (LatestCeilings); about 100 bytes each. */
const MAX_CEILINGS = 200_000;
/** Head rows moved per transaction when a store is opened (an older layout is all head). */
const MIGRATE_ROWS = 8192;
/**
 * Address space reserved for the map up front: lmdb-js otherwise grows the map step by step and
 * keeps each older mapping alive while anything still refers to it. Reserving costs no memory
 * or disk; the file still grows only as data is written (and the map past this if it must).
 */
const MAP_SIZE = 2 ** 36;
const FORMAT = 2;

export async function openEmbeddedTelemetryStore(options: EmbeddedTelemetryOptions): Promise<TelemetryStore> {
  // Device data is the customers' data: only the hub's user may enter the directory.
  await mkdir(options.path, { recursive: true, mode: 0o700 });
  await chmod(options.path, 0o700);
  const root: RootDatabase = open({ path: options.path, maxDbs: 16, overlappingSync: false, mapSize: MAP_SIZE });
  // msgpack keeps any JSON value (numbers, strings, arrays, objects, null) compact and exact. The
  // sub-databases are opened in one write transaction: outside of one, each `openDB` is a commit
  // and a sync of its own, and on a first start each creates its database (docs/BENCHMARKS.md, "Start-up").
  const { samples, blocks, ages, events, eventAges, latest, meta } = root.transactionSync(() => ({
    samples: root.openDB<HeadValue, SeriesKey>({ name: 'samples', encoding: 'msgpack' }),
    blocks: root.openDB<Buffer, BlockKey>({ name: 'blocks', encoding: 'binary' }),
    ages: root.openDB<AgeValue, AgeKey>({ name: 'ages', encoding: 'msgpack' }),
    events: root.openDB<EventValue, SeriesKey>({ name: 'events', encoding: 'msgpack' }),
    eventAges: root.openDB<null, EventAgeKey>({ name: 'eventAges', encoding: 'msgpack' }),
    latest: root.openDB<LatestValue, LatestKey>({ name: 'latest', encoding: 'msgpack' }),
    meta: root.openDB<number, string>({ name: 'meta', encoding: 'msgpack' }),
  }));
  const dbs: SeriesDbs = { samples, blocks, ages };
  let closed = false;
  let pruning: Promise<number> | undefined;
  /** Head rows per series written since open, for the compaction trigger. */
  const headCount = new Map<string, { assetId: string; pointId: string; n: number; at: number }>();
  const due = new Set<string>();
  let compacting: Promise<void> | undefined;
  /** Compactions run since open (compaction-schedule.ts: the first ones are small). */
  let compactions = 0;
  /** Appends issued and not yet settled: a compaction reads after those before it have landed. */
  const appendsInFlight = new InFlight();
  /** The series a compaction is reading outside a transaction, and what appends to it since could have changed. */
  let watched: CompactionWatch | undefined;
  /** Transactions of retention and migration that rewrite blocks, running (a compaction read before one is stale). */
  let rewriting = 0;
  // A failed migration leaves the data where it was, readable; the next open tries again.
  const migrated: Promise<void> = migrate().catch(() => undefined);

  const live = () => {
    if (closed) throw new Error('telemetry store is closed');
  };

  /** Moves latest to the new value unless the stored one is newer. Runs inside a write transaction; returns the stored time it found. */
  const raiseLatest = (key: LatestKey, next: LatestValue): number | undefined => {
    const current = latest.get(key);
    if (current === undefined || current.t <= next.t) latest.putSync(key, next);
    return current?.t;
  };
  const ceilings = new LatestCeilings();
  /** Appends queued as transactions whose callback has not run yet: while any is, no append is queued as plain writes. */
  let appendTxnsWaiting = 0;

  /** Event rows of one series with lo <= time <= hi, every tie included, in the plan's order, read lazily. */
  function eventRange(p: Plan, s: PlannedSeries): Iterable<{ time: number; tie: Tie; value: EventValue }> {
    const lo: SeriesKey = [p.assetId, s.id, s.lo];
    const above: SeriesKey = [p.assetId, s.id, s.hi + 1];
    const rows =
      p.order === 'ASC'
        ? events.getRange({ start: lo, end: above })
        : events.getRange({ start: above, end: lo, exclusiveStart: true, inclusiveEnd: true, reverse: true });
    return rows.map(({ key, value }) => ({ time: key[2], tie: key[3] ?? '', value }));
  }

  /** The key of a new row: a hub-dated one gets a tie-breaker, so it replaces nothing. */
  const seriesKey = (assetId: string, id: string, time: number, hubTime: boolean | undefined): SeriesKey =>
    hubTime ? [assetId, id, time, newTie()] : [assetId, id, time];

  return {
    kind: 'embedded',

    async appendMeasurepoints(input: readonly SampleInput[]): Promise<void> {
      live();
      input.forEach(checkSample);
      if (input.length === 0) return;
      const bySeries = new Map<string, SeriesRows>();
      for (const s of input) {
        const id = `${s.assetId}\u0000${s.pointId}`;
        let g = bySeries.get(id);
        if (!g) bySeries.set(id, (g = { assetId: s.assetId, pointId: s.pointId, rows: [], newest: s, ceiling: ceilings.of(id) }));
        g.rows.push(s);
        // Each series' latest moves once per append, to its newest sample here (the last of equal times).
        if (s.time >= g.newest.time) g.newest = s;
      }
      // Plain writes when nothing has to be read first: the latest values are known not to be newer
      // than this append's, and no row goes into a block. The writer thread then runs the whole
      // append on its own, with no turn of the event loop in its transaction.
      let queue = appendTxnsWaiting === 0;
      for (const g of bySeries.values()) {
        if (g.rows.length >= DIRECT_ROWS || !g.ceiling.known(g.newest.time)) queue = false;
        g.ceiling.raise(g.newest.time);
      }
      if (watched) watch(watched, bySeries.get(watched.id));
      await appendsInFlight.track(write(bySeries, queue));
      for (const [id, g] of bySeries) {
        if (g.rows.length >= DIRECT_ROWS) continue;
        const c = headCount.get(id) ?? {
          assetId: g.assetId,
          pointId: g.pointId,
          n: 0,
          at: compactionThreshold(id, compactions < COLD_COMPACTIONS),
        };
        c.n += g.rows.length;
        headCount.set(id, c);
        if (c.n >= c.at) due.add(id);
      }
      if (due.size > 0) compacting ??= compactDue().finally(() => (compacting = undefined));
    },

    async appendEvents(input: readonly EventInput[]): Promise<void> {
      live();
      input.forEach(checkEvent);
      if (input.length === 0) return;
      await events.childTransaction(() => {
        for (const e of input) {
          const key = seriesKey(e.assetId, e.eventId, e.time, e.hubTime);
          events.putSync(key, { values: e.values });
          eventAges.putSync(eventAgeKey(key), null);
          raiseLatest([e.assetId, 'e', e.eventId], { o: e.orgId, t: e.time, values: e.values });
        }
      });
    },

    async latest(assetIds: readonly string[], pointIds?: readonly string[]): Promise<Map<string, Record<string, LatestSample>>> {
      live();
      assetIds.forEach((a, i) => checkId(a, `assetIds[${i}]`));
      pointIds?.forEach((p, i) => checkId(p, `pointIds[${i}]`));
      const out = new Map<string, Record<string, LatestSample>>();
      for (const assetId of assetIds) {
        const points: Record<string, LatestSample> = {};
        const found = pointIds
          ? pointIds.map((id) => ({ id, value: latest.get([assetId, 'm', id]) }))
          : latest.getRange({ start: [assetId, 'm'], end: [assetId, 'n'] }).map(({ key, value }) => ({ id: key[2], value }));
        for (const { id, value } of found) {
          if (value === undefined) continue;
          const v: LatestSample = { value: value.v, time: value.t };
          if (value.q !== undefined) v.quality = value.q;
          setOwn(points, id, v);
        }
        out.set(assetId, points);
      }
      return out;
    },

    async latestEvents(assetId: string): Promise<Record<string, LatestEvent>> {
      live();
      checkId(assetId, 'assetId');
      const out: Record<string, LatestEvent> = {};
      // [assetId, 'e'] sorts before every [assetId, 'e', id] and [assetId, 'f'] after them.
      for (const { key, value } of latest.getRange({ start: [assetId, 'e'], end: [assetId, 'f'] })) {
        setOwn(out, key[2], { values: value.values ?? {}, time: value.t });
      }
      return out;
    },

    async history(q: HistoryQuery): Promise<Page<StoredSample>> {
      live();
      const p = plan('measurepoints', q, q.pointIds, 'pointIds');
      const sources: SeriesSource<BlockRow>[] = p.series.map((s) =>
        fromIterable(s.id, seriesRows(dbs, p.assetId, s.id, s.lo, s.hi, p.order)),
      );
      const { rows, nextCursor } = await mergePage(p, sources);
      const items = rows.map(({ id, row }) => {
        const item: StoredSample = { pointId: id, time: row.time, value: row.v };
        if (row.q !== undefined) item.quality = row.q;
        if (row.r) item.resume = true;
        return item;
      });
      return { items, nextCursor };
    },

    async eventHistory(q: EventHistoryQuery): Promise<Page<StoredEvent>> {
      live();
      const p = plan('events', q, q.eventIds, 'eventIds');
      const sources = p.series.map((s) => fromIterable(s.id, eventRange(p, s)));
      const { rows, nextCursor } = await mergePage(p, sources);
      return { items: rows.map(({ id, row }) => ({ eventId: id, time: row.time, values: row.value.values })), nextCursor };
    },

    async prune(before: number): Promise<number> {
      live();
      checkTime(before, 'before');
      // One prune at a time: a slow run and the next tick of the retention job must not race.
      pruning ??= pruneAll(before).finally(() => (pruning = undefined));
      return pruning;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pruning?.catch(() => undefined);
      await compacting;
      await migrated;
      await root.close();
    },
  };

  /** Writes one append: as one batch of plain writes when `queue`, else as a child transaction that reads first. */
  async function write(bySeries: Map<string, SeriesRows>, queue: boolean): Promise<void> {
    if (queue) {
      // One batch: the rows and latest values of the append commit together or not at all.
      await samples.batch(() => {
        for (const g of bySeries.values()) {
          for (const s of g.rows) void samples.put(seriesKey(s.assetId, s.pointId, s.time, s.hubTime), headValue(s));
          void latest.put([g.assetId, 'm', g.pointId], latestOf(g.newest));
        }
      });
    } else {
      appendTxnsWaiting++;
      let ran = false;
      try {
        await samples.childTransaction(() => {
          ran = true;
          appendTxnsWaiting--;
          for (const g of bySeries.values()) {
            if (g.rows.length >= DIRECT_ROWS) compact(dbs, g.assetId, g.pointId, toBlockRows(g.rows));
            else for (const s of g.rows) samples.putSync(seriesKey(s.assetId, s.pointId, s.time, s.hubTime), headValue(s));
            g.ceiling.found(raiseLatest([g.assetId, 'm', g.pointId], latestOf(g.newest)));
          }
        });
      } finally {
        if (!ran) appendTxnsWaiting--;
      }
    }
  }

  /**
   * Moves the head rows of the series past their thresholds into their blocks, one series at a
   * time. A failure leaves the rows in the head, where they are still read; the next open moves
   * them.
   */
  async function compactDue(): Promise<void> {
    while (due.size > 0 && !closed) {
      const id = due.values().next().value!;
      due.delete(id);
      const c = headCount.get(id);
      if (!c) continue;
      headCount.delete(id);
      const moved = await compactSeries(id, c.assetId, c.pointId).catch(() => 0);
      compactions++;
      if (moved >= MIGRATE_ROWS) {
        headCount.set(id, { ...c, n: moved });
        due.add(id);
      }
    }
  }

  /**
   * Moves up to MIGRATE_ROWS head rows of one series into its blocks; returns how many it moved.
   * The reading and encoding happen outside any transaction, on the last committed state, and only
   * the writes go to LMDB's writer, as one batch: a transaction's body would hold the writer, and
   * every append queued behind it, for as long as it runs (docs/PERFORMANCE-NOTES.md, "Compaction
   * outside the writer"). The batch is safe when nothing it read has changed since: it waits for
   * the appends issued before it, and any append to the series since then at or before its newest
   * head row, or into its blocks, or a retention or migration step, sends it back to a transaction
   * that reads again.
   */
  async function compactSeries(id: string, assetId: string, pointId: string): Promise<number> {
    const w: CompactionWatch = { id, oldest: Number.POSITIVE_INFINITY, stale: rewriting > 0 };
    watched = w;
    try {
      await appendsInFlight.settled();
      if (closed) return 0;
      const p = planCompaction(dbs, assetId, pointId, [], MIGRATE_ROWS);
      if (!p) return 0;
      if (!w.stale && w.oldest > p.headHi) {
        await samples.batch(() => applyCompaction(dbs, p));
        return p.headKeys.length;
      }
    } finally {
      if (watched === w) watched = undefined;
    }
    let moved = 0;
    await samples.childTransaction(() => (moved = compact(dbs, assetId, pointId, [], MIGRATE_ROWS)));
    return moved;
  }

  /** Runs a transaction of retention or migration that rewrites blocks (see compactSeries). */
  async function rewriteBlocks<T>(body: () => T): Promise<T> {
    if (watched) watched.stale = true;
    rewriting++;
    try {
      return await samples.childTransaction(body);
    } finally {
      rewriting--;
    }
  }

  /**
   * After opening: a store of the older layout (no event age index, all samples in the head) is
   * brought to this one, and head rows left by the last run go into blocks. Reads are correct
   * throughout (they merge head and blocks); retention waits for it.
   */
  async function migrate(): Promise<void> {
    if (meta.get('format') !== FORMAT) {
      let after: SeriesKey | undefined;
      for (;;) {
        if (closed) return;
        const keys: SeriesKey[] = [
          ...events.getKeys(after ? { start: after, exclusiveStart: true, limit: PRUNE_CHUNK } : { limit: PRUNE_CHUNK }),
        ];
        if (keys.length === 0) break;
        await events.childTransaction(() => {
          for (const key of keys) eventAges.putSync(eventAgeKey(key), null);
        });
        after = keys[keys.length - 1];
      }
      await meta.put('format', FORMAT);
    }
    let budget = (samples.getStats() as { entryCount?: number }).entryCount ?? Number.MAX_SAFE_INTEGER;
    while (budget > 0 && !closed) {
      const first = [...samples.getKeys({ limit: 1 })][0];
      if (!first) return;
      let moved = 0;
      await rewriteBlocks(() => (moved = compact(dbs, first[0], first[1], [], MIGRATE_ROWS)));
      budget -= moved;
    }
  }

  /**
   * Proportional to what it removes: head rows are moved into blocks first (work the compaction
   * owes anyway), then the `ages` index names exactly the blocks holding rows older than the cut
   * and `eventAges` the events; nothing else is visited. Each step is its own short transaction,
   * so appends interleave with a long sweep.
   */
  async function pruneAll(before: number): Promise<number> {
    let removed = 0;
    await migrated;
    for (const [id, c] of [...headCount]) {
      if (closed) return removed;
      headCount.delete(id);
      due.delete(id);
      await rewriteBlocks(() => compact(dbs, c.assetId, c.pointId, []));
    }
    for (let more = true; more && !closed;) {
      await rewriteBlocks(() => {
        const step = sweepBlocks(dbs, before, PRUNE_BLOCKS);
        removed += step.removed;
        more = step.more;
      });
    }
    for (;;) {
      if (closed) return removed;
      const keys: EventAgeKey[] = [...eventAges.getKeys({ end: [before], limit: PRUNE_CHUNK })];
      if (keys.length === 0) break;
      await events.childTransaction(() => {
        for (const [time, assetId, eventId, tie] of keys) {
          eventAges.removeSync(tie === undefined ? [time, assetId, eventId] : [time, assetId, eventId, tie]);
          events.removeSync(tie === undefined ? [assetId, eventId, time] : [assetId, eventId, time, tie]);
        }
      });
      removed += keys.length;
    }
    return removed;
  }
}

/** What the appends issued while a compaction reads its series outside a transaction brought to it. */
interface CompactionWatch {
  id: string;
  /** The oldest time of a row appended to the series. */
  oldest: number;
  /** Whether the blocks may have changed: an append wrote into the series' blocks, or retention or migration ran. */
  stale: boolean;
}

/** Notes what one append brings to the watched series (nothing when `rows` is undefined). */
function watch(w: CompactionWatch, rows: SeriesRows | undefined): void {
  if (!rows) return;
  if (rows.rows.length >= DIRECT_ROWS) w.stale = true;
  for (const s of rows.rows) if (s.time < w.oldest) w.oldest = s.time;
}

/** One append's samples of one series. */
interface SeriesRows {
  assetId: string;
  pointId: string;
  rows: SampleInput[];
  /** The sample the series' latest moves to. */
  newest: SampleInput;
  ceiling: LatestCeiling;
}

/** The latest value a sample stands for. */
function latestOf(s: SampleInput): LatestValue {
  const next: LatestValue = { o: s.orgId, t: s.time, v: s.value };
  if (s.quality !== undefined) next.q = s.quality;
  return next;
}

/**
 * Per series, a time no stored or queued latest value is newer than: an append whose newest
 * sample is at or past it may write the latest value without reading it first. Raised when an
 * append is queued (before the writer thread runs it), so it covers every write still on its way;
 * known only once a transaction has read the stored value. A write that fails leaves it higher than
 * the stored value, never lower: the next older sample then reads again. Bounded: past
 * MAX_CEILINGS series it starts again, and each series reads once more.
 */
class LatestCeilings {
  private readonly bySeries = new Map<string, LatestCeiling>();

  of(seriesId: string): LatestCeiling {
    let c = this.bySeries.get(seriesId);
    if (!c) {
      if (this.bySeries.size >= MAX_CEILINGS) this.bySeries.clear();
      this.bySeries.set(seriesId, (c = new LatestCeiling()));
    }
    return c;
  }
}

class LatestCeiling {
  private t = Number.NEGATIVE_INFINITY;
  private read = false;

  /** Whether a latest value at `time` is known to be the newest: no read is needed to write it. */
  known(time: number): boolean {
    return this.read && time >= this.t;
  }

  /** An append with this newest time has been queued. */
  raise(time: number): void {
    if (time > this.t) this.t = time;
  }

  /** A transaction read the stored latest time (undefined: none); everything queued before it is in that value. */
  found(stored: number | undefined): void {
    if (stored !== undefined && stored > this.t) this.t = stored;
    this.read = true;
  }
}

/** The head value of a sample. */
function headValue(s: SampleInput): HeadValue {
  const stored: HeadValue = { v: s.value };
  if (s.quality !== undefined) stored.q = s.quality;
  if (s.resume) stored.r = true;
  return stored;
}

/** One append's samples of a series as block rows: sorted, one per identity (the last written wins). */
function toBlockRows(samples: SampleInput[]): BlockRow[] {
  const rows = samples.map((s): BlockRow => {
    const row: BlockRow = { time: s.time, tie: s.hubTime ? newTie() : '', v: s.value };
    if (s.quality !== undefined) row.q = s.quality;
    if (s.resume) row.r = true;
    return row;
  });
  // Stable: of equal identities, the one written last stays last, and is the one kept.
  rows.sort(compareRows);
  return rows.filter((r, i) => i === rows.length - 1 || compareRows(r, rows[i + 1]!) !== 0);
}
