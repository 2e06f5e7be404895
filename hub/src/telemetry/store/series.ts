/**
 * What both adapters share: the port's input rules, the history cursor, and the k-way merge of
 * per-series streams into one page. An adapter only has to produce, for each series, its rows in
 * time order between two inclusive bounds; this module decides the bounds (from the range and
 * the cursor) and the order of the page, so paging behaves identically on every backend.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  InvalidTelemetryInput,
  MAX_HISTORY_LIMIT,
  MAX_HISTORY_SERIES,
  MAX_ID_LENGTH,
  MAX_TIME,
  type EventInput,
  type Order,
  type RangeQuery,
  type SampleInput,
} from './port.js';

export const DEFAULT_HISTORY_LIMIT = 100;

/** Which history a query reads: a cursor of one never continues the other. */
export type Family = 'measurepoints' | 'events';

export function checkId(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidTelemetryInput(field, 'must be a non-empty string');
  if (value.length > MAX_ID_LENGTH) throw new InvalidTelemetryInput(field, `must be at most ${MAX_ID_LENGTH} characters`);
  return value;
}

export function checkTime(value: unknown, field: string, max = MAX_TIME): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new InvalidTelemetryInput(field, `must be an integer number of epoch milliseconds from 0 to ${max}`);
  }
  return value;
}

export function checkSample(s: SampleInput, i: number): void {
  const f = `samples[${i}]`;
  checkId(s.assetId, `${f}.assetId`);
  checkId(s.orgId, `${f}.orgId`);
  checkId(s.pointId, `${f}.pointId`);
  checkTime(s.time, `${f}.time`);
  if (s.value === undefined) throw new InvalidTelemetryInput(`${f}.value`, 'must be a JSON value');
  if (s.quality !== undefined && (!Number.isInteger(s.quality) || s.quality < 0 || s.quality > 9)) {
    throw new InvalidTelemetryInput(`${f}.quality`, 'must be an integer from 0 to 9');
  }
}

export function checkEvent(e: EventInput, i: number): void {
  const f = `events[${i}]`;
  checkId(e.assetId, `${f}.assetId`);
  checkId(e.orgId, `${f}.orgId`);
  checkId(e.eventId, `${f}.eventId`);
  checkTime(e.time, `${f}.time`);
  if (typeof e.values !== 'object' || e.values === null || Array.isArray(e.values))
    throw new InvalidTelemetryInput(`${f}.values`, 'must be a JSON object');
}

/**
 * Where a row sits among the rows of its series that share its millisecond: '' for the one the
 * device dated itself (it has no tie-breaker: the same time replaces it), a `newTie()` for each
 * row the hub dated. Ties compare as strings ('' first).
 */
export type Tie = string;

const PROCESS_TAG = randomBytes(4).toString('hex');
let tieCounter = 0;
let tieHead = -1;
let tieHeadText = '';
const LOW_DIGITS: readonly string[] = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, '0'));

/**
 * A tie-breaker for a hub-dated row: increasing within this process (arrival order), and unique
 * across processes (a random tag per process), so two hub nodes writing the same series in the
 * same millisecond never replace each other's rows. The counter follows the clock (1024 per ms),
 * so ties made after a restart sort after the ones made before it.
 */
export function newTie(): Tie {
  tieCounter = Math.max(tieCounter + 1, Date.now() * 1024);
  // The 14 hex digits of the counter, built from a cached head (its upper 11 digits, which change
  // once per 4,096 ties, or every 4 ms of the clock) and a table of the last 3: the same string as
  // `toString(16).padStart(14, '0')`, whose conversion of a large number cost about 1 µs per
  // hub-dated sample (docs/BENCHMARKS.md, "MQTT fan-in: the third pass").
  const head = Math.floor(tieCounter / 4096);
  if (head !== tieHead) {
    tieHead = head;
    tieHeadText = head.toString(16).padStart(11, '0');
  }
  return tieHeadText + LOW_DIGITS[tieCounter % 4096]! + PROCESS_TAG;
}

/** A validated history query: each series to read with its inclusive time bounds, in page order. */
export interface Plan {
  assetId: string;
  order: Order;
  limit: number;
  hash: string;
  series: PlannedSeries[];
}

export interface PlannedSeries {
  id: string;
  lo: number;
  hi: number;
  /**
   * Set on the series the cursor stopped in: its rows at this time up to this tie (ASC: tie <=,
   * DESC: tie >=) were on earlier pages. The adapters read the whole millisecond; mergePage skips.
   */
  after?: { time: number; tie: Tie };
}

/**
 * Checks a history query and turns it into per-series inclusive bounds. Times are integers, so
 * the half-open range [startTime, endTime) is [startTime, endTime - 1]; a cursor (t, id, tie)
 * moves the bound of each series past the last row returned: ASC continues at (time > t) or
 * (time = t and id > cursor id) or (time = t, same id, tie > cursor tie); DESC the mirror image.
 */
export function plan(family: Family, q: RangeQuery, ids: unknown, idsField: string): Plan {
  const assetId = checkId(q.assetId, 'assetId');
  if (!Array.isArray(ids) || ids.length === 0) throw new InvalidTelemetryInput(idsField, 'must be a non-empty array of ids');
  if (ids.length > MAX_HISTORY_SERIES) throw new InvalidTelemetryInput(idsField, `at most ${MAX_HISTORY_SERIES} ids per query`);
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    checkId(id, `${idsField}[${i}]`);
    if (seen.has(id as string)) throw new InvalidTelemetryInput(`${idsField}[${i}]`, `${String(id)} appears twice`);
    seen.add(id as string);
  });
  const start = checkTime(q.startTime, 'startTime');
  const end = checkTime(q.endTime, 'endTime', MAX_TIME + 1);
  if (end <= start) throw new InvalidTelemetryInput('endTime', 'must be later than startTime (the range is startTime <= time < endTime)');
  const order = q.order ?? 'ASC';
  if (order !== 'ASC' && order !== 'DESC') throw new InvalidTelemetryInput('order', 'must be ASC or DESC');
  const limit = q.limit ?? DEFAULT_HISTORY_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT)
    throw new InvalidTelemetryInput('limit', `must be an integer from 1 to ${MAX_HISTORY_LIMIT}`);

  const hash = queryHash(family, assetId, [...seen], start, end, order);
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, hash);
  const sorted = [...seen].sort(compareIds);
  if (order === 'DESC') sorted.reverse();
  const series = sorted.map((id): PlannedSeries => {
    let lo = start;
    let hi = end - 1;
    const cmp = after ? compareIds(id, after.i) : 0;
    if (after && order === 'ASC') lo = cmp >= 0 ? after.t : after.t + 1;
    if (after && order === 'DESC') hi = cmp <= 0 ? after.t : after.t - 1;
    if (after && cmp === 0) return { id, lo, hi, after: { time: after.t, tie: after.s ?? '' } };
    return { id, lo, hi };
  });
  return { assetId, order, limit, hash, series: series.filter((s) => s.lo <= s.hi) };
}

/** Code-unit order, the same in every adapter (the page order's tie-break between series). */
export const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function queryHash(family: Family, assetId: string, ids: string[], start: number, end: number, order: Order): string {
  const canonical = JSON.stringify([family, assetId, [...ids].sort(compareIds), start, end, order]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

interface CursorBody {
  t: number;
  i: string;
  /** The last row's tie; absent in cursors made before ties existed (read as ''). */
  s?: Tie;
  h: string;
}

export function encodeCursor(p: Plan, last: { id: string; time: number; tie: Tie }): string {
  const body: CursorBody = { t: last.time, i: last.id, s: last.tie, h: p.hash };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

function decodeCursor(cursor: unknown, hash: string): CursorBody {
  let body: Partial<CursorBody> | undefined;
  try {
    if (typeof cursor === 'string' && cursor.length <= 1024 && /^[A-Za-z0-9_-]+$/.test(cursor)) {
      body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorBody>;
    }
  } catch {
    body = undefined;
  }
  if (
    !body ||
    typeof body !== 'object' ||
    typeof body.h !== 'string' ||
    typeof body.i !== 'string' ||
    typeof body.t !== 'number' ||
    !Number.isSafeInteger(body.t) ||
    (body.s !== undefined && typeof body.s !== 'string')
  ) {
    throw new InvalidTelemetryInput('cursor', 'is not a cursor returned by this query');
  }
  // A cursor carries a fingerprint of its query: reusing it with another device, range, order or
  // point list would silently skip or repeat data, so it is refused instead.
  if (body.h !== hash) throw new InvalidTelemetryInput('cursor', 'belongs to a different query (device, ids, range or order changed)');
  return body as CursorBody;
}

/** One series' rows in the query's order, read on demand. */
export interface SeriesSource<R> {
  id: string;
  next(): Promise<R | undefined>;
  close?(): Promise<void>;
}

export function fromIterable<R>(id: string, rows: Iterable<R>): SeriesSource<R> {
  const it = rows[Symbol.iterator]();
  return {
    id,
    next: async () => {
      const r = it.next();
      return r.done ? undefined : r.value;
    },
    close: async () => void it.return?.(),
  };
}

/**
 * Skips the rows a cursor already returned from the series it stopped in: they lead the series'
 * rows (same millisecond as the cursor, tie not past it), so only the first few are looked at.
 */
function pastCursor<R extends { time: number; tie: Tie }>(
  p: Plan,
  planned: PlannedSeries | undefined,
  source: SeriesSource<R>,
): SeriesSource<R> {
  const after = planned?.after;
  if (!after) return source;
  const sign = p.order === 'ASC' ? 1 : -1;
  let skipping = true;
  return {
    id: source.id,
    async next() {
      let row = await source.next();
      while (skipping && row !== undefined && row.time === after.time && sign * compareIds(row.tie, after.tie) <= 0)
        row = await source.next();
      skipping = false;
      return row;
    },
    close: source.close?.bind(source),
  };
}

/**
 * Merges the series into one page: up to `limit` rows in (time, id) order (reversed for DESC),
 * reading one row past the page to know whether a next cursor is due. Sources are closed. Each
 * source gives its own rows in (time, tie) order (reversed for DESC).
 */
export async function mergePage<R extends { time: number; tie: Tie }>(
  p: Plan,
  given: SeriesSource<R>[],
): Promise<{ rows: { id: string; row: R }[]; nextCursor: string | null }> {
  const out: { id: string; row: R }[] = [];
  const sources = given.map((s) =>
    pastCursor(
      p,
      p.series.find((ps) => ps.id === s.id),
      s,
    ),
  );
  try {
    const heads: (R | undefined)[] = await Promise.all(sources.map((s) => s.next()));
    const sign = p.order === 'ASC' ? 1 : -1;
    while (out.length <= p.limit) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h === undefined) continue;
        const b = best < 0 ? undefined : heads[best];
        if (b === undefined || sign * (h.time - b.time || compareIds(sources[i]!.id, sources[best]!.id)) < 0) best = i;
      }
      if (best < 0) break;
      out.push({ id: sources[best]!.id, row: heads[best]! });
      heads[best] = await sources[best]!.next();
    }
  } finally {
    await Promise.allSettled(sources.map(async (s) => s.close?.()));
  }
  if (out.length <= p.limit) return { rows: out, nextCursor: null };
  out.length = p.limit;
  const last = out[out.length - 1]!;
  return { rows: out, nextCursor: encodeCursor(p, { id: last.id, time: last.row.time, tie: last.row.tie }) };
}

/** Sets a property named by device data as an own property: an id like `__proto__` stays data. */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  // Only `__proto__` is an accessor on a plain object; every other key is assigned, which keeps the
  // object's fast layout (defineProperty on each key turned them into slow dictionaries, and the
  // queryLatest answer's JSON serialization paid for it: docs/BENCHMARKS.md, "Telemetry store").
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
