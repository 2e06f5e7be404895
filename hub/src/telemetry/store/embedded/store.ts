/**
 * The default telemetry store: an LMDB environment of its own (apart from the registry's, so that
 * high-rate telemetry writes never wait behind registry writes, nor the other way round, and so
 * the two can be backed up or wiped separately).
 *
 * Sub-databases:
 *   samples  [assetId, pointId, time, tie?] → { v, q?, r? }     one series = one contiguous key range
 *   events   [assetId, eventId, time, tie?] → { values }
 *   latest   [assetId, 'm' | 'e', id] → { o: orgId, t, v, q? } | { o, t, values }
 * The time is part of the key, so a device-dated sample with the same (asset, point, time)
 * overwrites the old one: the port's "last write wins" identity. A hub-dated sample carries a
 * fourth key part, a tie-breaker (series.ts `newTie`), so samples stamped in the same millisecond
 * are all kept; a 3-part key sorts before every 4-part key of its millisecond, and keys written
 * before ties existed read unchanged. Each append is one child transaction (all or
 * nothing); appends from the same tick share one commit. The environment is opened without
 * overlapping sync, so a commit has reached the disk before the append's promise resolves.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { open, type Database, type RootDatabase } from 'lmdb';
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

type SeriesKey = [string, string, number] | [string, string, number, string];
type LatestKey = [string, 'm' | 'e', string];

interface SampleValue {
  v: unknown;
  q?: number;
  r?: true;
}
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

export async function openEmbeddedTelemetryStore(options: EmbeddedTelemetryOptions): Promise<TelemetryStore> {
  // Device data is the customers' data: only the hub's user may enter the directory.
  await mkdir(options.path, { recursive: true, mode: 0o700 });
  await chmod(options.path, 0o700);
  const root: RootDatabase = open({ path: options.path, maxDbs: 8, overlappingSync: false });
  // msgpack keeps any JSON value (numbers, strings, arrays, objects, null) compact and exact.
  const samples: Database<SampleValue, SeriesKey> = root.openDB({ name: 'samples', encoding: 'msgpack' });
  const events: Database<EventValue, SeriesKey> = root.openDB({ name: 'events', encoding: 'msgpack' });
  const latest: Database<LatestValue, LatestKey> = root.openDB({ name: 'latest', encoding: 'msgpack' });
  let closed = false;
  let pruning: Promise<number> | undefined;

  const live = () => {
    if (closed) throw new Error('telemetry store is closed');
  };

  /** Moves latest to the new value unless the stored one is newer. Runs inside a write transaction. */
  const raiseLatest = (key: LatestKey, next: LatestValue) => {
    const current = latest.get(key);
    if (current === undefined || current.t <= next.t) latest.putSync(key, next);
  };

  /**
   * Rows of one series with lo <= time <= hi, every tie included, in the plan's order, read
   * lazily. The range runs from [.., lo] (before all of lo's keys) up to [.., hi + 1] excluded
   * (after all of hi's keys); reversed, it starts below [.., hi + 1] and ends at [.., lo].
   */
  function range<V>(db: Database<V, SeriesKey>, p: Plan, s: PlannedSeries): Iterable<{ time: number; tie: Tie; value: V }> {
    const lo: SeriesKey = [p.assetId, s.id, s.lo];
    const above: SeriesKey = [p.assetId, s.id, s.hi + 1];
    const rows =
      p.order === 'ASC'
        ? db.getRange({ start: lo, end: above })
        : db.getRange({ start: above, end: lo, exclusiveStart: true, inclusiveEnd: true, reverse: true });
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
      // Each series' latest moves once per append, to its newest sample here (the last of equal times).
      const newest = new Map<string, SampleInput>();
      for (const s of input) {
        const id = `${s.assetId}\u0000${s.pointId}`;
        const seen = newest.get(id);
        if (seen === undefined || seen.time <= s.time) newest.set(id, s);
      }
      await samples.childTransaction(() => {
        for (const s of input) {
          const stored: SampleValue = { v: s.value };
          if (s.quality !== undefined) stored.q = s.quality;
          if (s.resume) stored.r = true;
          samples.putSync(seriesKey(s.assetId, s.pointId, s.time, s.hubTime), stored);
        }
        for (const s of newest.values()) {
          const next: LatestValue = { o: s.orgId, t: s.time, v: s.value };
          if (s.quality !== undefined) next.q = s.quality;
          raiseLatest([s.assetId, 'm', s.pointId], next);
        }
      });
    },

    async appendEvents(input: readonly EventInput[]): Promise<void> {
      live();
      input.forEach(checkEvent);
      if (input.length === 0) return;
      await events.childTransaction(() => {
        for (const e of input) {
          events.putSync(seriesKey(e.assetId, e.eventId, e.time, e.hubTime), { values: e.values });
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
      const sources: SeriesSource<{ time: number; tie: Tie; value: SampleValue }>[] = p.series.map((s) =>
        fromIterable(s.id, range(samples, p, s)),
      );
      const { rows, nextCursor } = await mergePage(p, sources);
      const items = rows.map(({ id, row }) => {
        const item: StoredSample = { pointId: id, time: row.time, value: row.value.v };
        if (row.value.q !== undefined) item.quality = row.value.q;
        if (row.value.r) item.resume = true;
        return item;
      });
      return { items, nextCursor };
    },

    async eventHistory(q: EventHistoryQuery): Promise<Page<StoredEvent>> {
      live();
      const p = plan('events', q, q.eventIds, 'eventIds');
      const sources = p.series.map((s) => fromIterable(s.id, range(events, p, s)));
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
      await root.close();
    },
  };

  /**
   * Every series has a latest entry (its first sample created it, and latest values are never
   * pruned), so walking `latest` visits every series; each series' old samples are one key range.
   */
  async function pruneAll(before: number): Promise<number> {
    let removed = 0;
    const series = [...latest.getKeys()].filter((k): k is LatestKey => Array.isArray(k) && k.length === 3);
    for (const [assetId, kind, id] of series) {
      const db = kind === 'm' ? samples : events;
      for (;;) {
        if (closed) return removed;
        const keys = [...db.getKeys({ start: [assetId, id, 0], end: [assetId, id, before], limit: PRUNE_CHUNK })];
        if (keys.length === 0) break;
        await db.childTransaction(() => {
          for (const key of keys) db.removeSync(key);
        });
        removed += keys.length;
        if (keys.length < PRUNE_CHUNK) break;
      }
    }
    return removed;
  }
}
