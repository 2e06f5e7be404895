/**
 * The MongoDB telemetry store, for deployments that already run MongoDB.
 *
 * - History lives in two time-series collections (MongoDB 5.0+): `telemetry_samples`
 *   (timeField `time`, metaField `meta: {assetId, pointId}`) and `telemetry_events`
 *   (`meta: {assetId, eventId}`), granularity seconds, with a compound index on the meta fields and
 *   time. Retention is `expireAfterSeconds` on the collection (kept in step with the configured
 *   retention at every open), and `prune` deletes by time where the server allows it (7.0+).
 *   On a server without time-series collections the same documents go into plain collections with
 *   a TTL index, and a log line says so.
 * - Time-series collections have no unique indexes, so the port's identity (assetId, pointId,
 *   time, tie) is kept on read: duplicates of one sample are in the same millisecond of a series
 *   and the last written (greatest ObjectId, which the driver assigns in write order) wins. A
 *   failed append retried by the device therefore never shows twice. A device-dated document has
 *   no `s`; a hub-dated one has `s`, a tie-breaker (series.ts `newTie`) of its own, so documents
 *   the hub stamped in the same millisecond never collapse into one.
 * - `telemetry_latest` is a plain collection with one document per (asset, kind, id); it is
 *   replaced only by a sample that is not older (a conditional upsert).
 * - Values: strings, numbers, booleans and null are stored natively (`v`, compressible); arrays
 *   and objects as JSON text (`j`), so a device's field names can never be read as operators.
 *
 * Writes use majority, journaled write concern: a resolved append survives a failover or a crash.
 */
import {
  MongoBulkWriteError,
  MongoClient,
  MongoServerError,
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  type FindCursor,
  type ObjectId,
} from 'mongodb';
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
  Order,
} from '../port.js';
import {
  checkEvent,
  checkId,
  checkSample,
  checkTime,
  compareIds,
  mergePage,
  newTie,
  plan,
  setOwn,
  type Plan,
  type PlannedSeries,
  type SeriesSource,
  type Tie,
} from '../series.js';

export interface MongoTelemetryOptions {
  url: string;
  /** Defaults to the database named in the URL, else 'edgehub'. */
  dbName?: string;
  /** History older than this is expired by MongoDB itself (TTL); unset keeps history forever. */
  retentionMs?: number;
  /** Where setup decisions are told (fallbacks); defaults to console.warn. */
  log?: (message: string) => void;
}

type Scalar = string | number | boolean | null;

interface Encoded {
  v?: Scalar;
  j?: string;
}
interface SampleDoc extends Encoded {
  _id?: ObjectId;
  time: Date;
  meta: { assetId: string; pointId: string };
  /** Tie-breaker of a hub-dated sample; absent on device-dated ones. */
  s?: string;
  q?: number;
  r?: true;
}
interface EventDoc {
  _id?: ObjectId;
  time: Date;
  meta: { assetId: string; eventId: string };
  s?: string;
  j: string;
}
interface LatestDoc extends Encoded {
  _id: string;
  assetId: string;
  kind: 'm' | 'e';
  id: string;
  orgId: string;
  time: number;
  q?: number;
}

export const COLLECTIONS = { samples: 'telemetry_samples', events: 'telemetry_events', latest: 'telemetry_latest' } as const;

/** Duplicate key: an upsert lost the insert race, or its condition (not older) did not hold. */
const DUPLICATE_KEY = 11000;
const NAMESPACE_EXISTS = 48;

export async function openMongoTelemetryStore(options: MongoTelemetryOptions): Promise<TelemetryStore> {
  const log = options.log ?? ((m: string) => console.warn(m));
  const client = new MongoClient(options.url, {
    ignoreUndefined: true,
    writeConcern: { w: 'majority', journal: true },
  });
  await client.connect();
  try {
    const db = client.db(options.dbName ?? dbNameFromUrl(options.url) ?? 'edgehub');
    const retentionSeconds = options.retentionMs === undefined ? undefined : Math.max(1, Math.ceil(options.retentionMs / 1000));
    const timeSeries = await supportsTimeSeries(db, log);
    const samplesTs = await ensureHistory(db, COLLECTIONS.samples, 'pointId', timeSeries, retentionSeconds, log);
    const eventsTs = await ensureHistory(db, COLLECTIONS.events, 'eventId', timeSeries, retentionSeconds, log);
    const latest = db.collection<LatestDoc>(COLLECTIONS.latest);
    await latest.createIndex({ assetId: 1, kind: 1, id: 1 }, { name: 'asset_kind_id' });
    return mongoTelemetryStore(
      client,
      db.collection<SampleDoc>(COLLECTIONS.samples),
      db.collection<EventDoc>(COLLECTIONS.events),
      latest,
      samplesTs || eventsTs,
      log,
    );
  } catch (err) {
    await client.close();
    throw err;
  }
}

function mongoTelemetryStore(
  client: MongoClient,
  samples: Collection<SampleDoc>,
  events: Collection<EventDoc>,
  latest: Collection<LatestDoc>,
  timeSeries: boolean,
  log: (message: string) => void,
): TelemetryStore {
  let pruneByTime = true;

  /** Conditional upserts: replace only when the stored document is not newer. */
  async function raiseLatest(docs: LatestDoc[]): Promise<void> {
    // Within one append the last sample of the greatest time wins, as in the embedded store.
    const byKey = new Map<string, LatestDoc>();
    for (const d of docs) {
      const current = byKey.get(d._id);
      if (!current || current.time <= d.time) byKey.set(d._id, d);
    }
    const op = (d: LatestDoc): AnyBulkWriteOperation<LatestDoc> => ({
      replaceOne: { filter: { _id: d._id, time: { $lte: d.time } }, replacement: d, upsert: true },
    });
    let pending = [...byKey.values()];
    // A duplicate key means either that the stored document is newer (the filter missed and the
    // upsert's insert clashed: nothing to do), or that a concurrent append created the document
    // between our filter and our insert: one retry tells the two apart.
    for (let attempt = 0; attempt < 2 && pending.length > 0; attempt++) {
      try {
        await latest.bulkWrite(pending.map(op), { ordered: false });
        return;
      } catch (err) {
        if (!(err instanceof MongoBulkWriteError)) throw err;
        const errors = (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) as {
          code?: number;
          errmsg?: string;
          index: number;
        }[];
        if (errors.some((e) => e.code !== DUPLICATE_KEY)) throw err;
        pending = errors.map((e) => pending[e.index]!).filter(Boolean);
      }
    }
  }

  function series<D extends HistoryDoc>(
    coll: Collection<D>,
    idField: 'pointId' | 'eventId',
    p: Plan,
    s: PlannedSeries,
  ): SeriesSource<Row<D>> {
    const filter = { 'meta.assetId': p.assetId, [`meta.${idField}`]: s.id, time: { $gte: new Date(s.lo), $lte: new Date(s.hi) } };
    const batchSize = Math.min(p.limit + 1, Math.max(32, Math.ceil((2 * (p.limit + 1)) / p.series.length)));
    const cursor = coll.find(filter as never, { sort: { time: p.order === 'ASC' ? 1 : -1 }, batchSize }) as unknown as FindCursor<D>;
    return new DedupingSeries(s.id, cursor, p.order);
  }

  return {
    kind: 'mongodb',

    async appendMeasurepoints(input: readonly SampleInput[]): Promise<void> {
      input.forEach(checkSample);
      if (input.length === 0) return;
      const docs = input.map((s) => {
        const d: SampleDoc = { time: new Date(s.time), meta: { assetId: s.assetId, pointId: s.pointId }, ...encode(s.value) };
        if (s.hubTime) d.s = newTie();
        if (s.quality !== undefined) d.q = s.quality;
        if (s.resume) d.r = true;
        return d;
      });
      await samples.insertMany(docs, { ordered: true });
      await raiseLatest(
        input.map((s) => {
          const d: LatestDoc = {
            _id: latestId(s.assetId, 'm', s.pointId),
            assetId: s.assetId,
            kind: 'm',
            id: s.pointId,
            orgId: s.orgId,
            time: s.time,
            ...encode(s.value),
          };
          if (s.quality !== undefined) d.q = s.quality;
          return d;
        }),
      );
    },

    async appendEvents(input: readonly EventInput[]): Promise<void> {
      input.forEach(checkEvent);
      if (input.length === 0) return;
      await events.insertMany(
        input.map((e): EventDoc => ({
          time: new Date(e.time),
          meta: { assetId: e.assetId, eventId: e.eventId },
          ...(e.hubTime ? { s: newTie() } : {}),
          j: JSON.stringify(e.values),
        })),
        { ordered: true },
      );
      await raiseLatest(
        input.map((e) => ({
          _id: latestId(e.assetId, 'e', e.eventId),
          assetId: e.assetId,
          kind: 'e',
          id: e.eventId,
          orgId: e.orgId,
          time: e.time,
          j: JSON.stringify(e.values),
        })),
      );
    },

    async latest(assetIds: readonly string[], pointIds?: readonly string[]): Promise<Map<string, Record<string, LatestSample>>> {
      assetIds.forEach((a, i) => checkId(a, `assetIds[${i}]`));
      pointIds?.forEach((p, i) => checkId(p, `pointIds[${i}]`));
      const out = new Map<string, Record<string, LatestSample>>(assetIds.map((a) => [a, {}]));
      if (assetIds.length === 0 || pointIds?.length === 0) return out;
      const filter = { assetId: { $in: [...assetIds] }, kind: 'm' as const, ...(pointIds ? { id: { $in: [...pointIds] } } : {}) };
      for await (const d of latest.find(filter)) {
        const v: LatestSample = { value: decode(d), time: d.time };
        if (d.q !== undefined && d.q !== null) v.quality = d.q;
        setOwn(out.get(d.assetId)!, d.id, v);
      }
      return out;
    },

    async latestEvents(assetId: string): Promise<Record<string, LatestEvent>> {
      checkId(assetId, 'assetId');
      const out: Record<string, LatestEvent> = {};
      for await (const d of latest.find({ assetId, kind: 'e' }))
        setOwn(out, d.id, { values: decode(d) as Record<string, unknown>, time: d.time });
      return out;
    },

    async history(q: HistoryQuery): Promise<Page<StoredSample>> {
      const p = plan('measurepoints', q, q.pointIds, 'pointIds');
      const { rows, nextCursor } = await mergePage(
        p,
        p.series.map((s) => series(samples, 'pointId', p, s)),
      );
      const items = rows.map(({ id, row }) => {
        const item: StoredSample = { pointId: id, time: row.time, value: decode(row.doc) };
        if (row.doc.q !== undefined && row.doc.q !== null) item.quality = row.doc.q;
        if (row.doc.r) item.resume = true;
        return item;
      });
      return { items, nextCursor };
    },

    async eventHistory(q: EventHistoryQuery): Promise<Page<StoredEvent>> {
      const p = plan('events', q, q.eventIds, 'eventIds');
      const { rows, nextCursor } = await mergePage(
        p,
        p.series.map((s) => series(events, 'eventId', p, s)),
      );
      return {
        items: rows.map(({ id, row }) => ({ eventId: id, time: row.time, values: JSON.parse(row.doc.j) as Record<string, unknown> })),
        nextCursor,
      };
    },

    async prune(before: number): Promise<number> {
      checkTime(before, 'before');
      if (!pruneByTime) return 0;
      const filter = { time: { $lt: new Date(before) } };
      try {
        const a = await samples.deleteMany(filter);
        const b = await events.deleteMany(filter);
        return a.deletedCount + b.deletedCount;
      } catch (err) {
        // Before 7.0 a time-series collection only deletes by metaField; expireAfterSeconds does the work.
        if (!(timeSeries && err instanceof MongoServerError)) throw err;
        pruneByTime = false;
        log(`telemetry: this MongoDB cannot delete time-series history by time (${err.message}); retention relies on expireAfterSeconds`);
        return 0;
      }
    },

    async close(): Promise<void> {
      await client.close();
    },
  };
}

interface HistoryDoc {
  _id?: ObjectId;
  time: Date;
  s?: string;
}

interface Row<D> {
  time: number;
  tie: Tie;
  doc: D;
}

/**
 * One series read in time order through a MongoDB cursor. The cursor sorts by time only, so the
 * documents of one millisecond are gathered, duplicates of one (time, tie) collapsed into the
 * last written, and the rest handed out in tie order (reversed for DESC).
 */
class DedupingSeries<D extends HistoryDoc> implements SeriesSource<Row<D>> {
  private ahead: D | null = null;
  private group: Row<D>[] = [];

  constructor(
    readonly id: string,
    private readonly cursor: FindCursor<D>,
    private readonly order: Order,
  ) {}

  async next(): Promise<Row<D> | undefined> {
    if (this.group.length === 0) await this.readMillisecond();
    return this.group.shift();
  }

  private async readMillisecond(): Promise<void> {
    const first = this.ahead ?? (await this.cursor.next());
    this.ahead = null;
    if (!first) return;
    const time = first.time.getTime();
    const byTie = new Map<Tie, D>([[first.s ?? '', first]]);
    for (;;) {
      const n = await this.cursor.next();
      if (!n) break;
      if (n.time.getTime() !== time) {
        this.ahead = n;
        break;
      }
      const tie = n.s ?? '';
      const current = byTie.get(tie);
      if (!current || laterWrite(n, current)) byTie.set(tie, n);
    }
    const sign = this.order === 'ASC' ? 1 : -1;
    this.group = [...byTie].sort(([a], [b]) => sign * compareIds(a, b)).map(([tie, doc]) => ({ time, tie, doc }));
  }

  async close(): Promise<void> {
    await this.cursor.close();
  }
}

/** ObjectIds grow with time and, within one process, with every id made; hex order is their order. */
const laterWrite = (a: { _id?: ObjectId }, b: { _id?: ObjectId }): boolean => (a._id?.toHexString() ?? '') > (b._id?.toHexString() ?? '');

function encode(value: unknown): Encoded {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { v: value };
  return { j: JSON.stringify(value) };
}

function decode(d: Encoded): unknown {
  if (d.j !== undefined && d.j !== null) return JSON.parse(d.j) as unknown;
  return d.v ?? null;
}

const latestId = (assetId: string, kind: 'm' | 'e', id: string): string => JSON.stringify([assetId, kind, id]);

async function supportsTimeSeries(db: Db, log: (message: string) => void): Promise<boolean> {
  const info = (await db.admin().command({ buildInfo: 1 })) as { version?: string; versionArray?: number[] };
  const major = info.versionArray?.[0] ?? Number.parseInt(info.version ?? '0', 10);
  if (major >= 5) return true;
  log(
    `telemetry: MongoDB ${info.version ?? '(unknown version)'} has no time-series collections (5.0+); storing history in plain collections with a TTL index`,
  );
  return false;
}

/**
 * Creates the history collection if missing (time-series when the server has them), keeps its
 * expiry in step with the retention, and its series index. Returns whether it is a time-series.
 */
async function ensureHistory(
  db: Db,
  name: string,
  idField: 'pointId' | 'eventId',
  timeSeries: boolean,
  retentionSeconds: number | undefined,
  log: (message: string) => void,
): Promise<boolean> {
  let [info] = await db.listCollections({ name }).toArray();
  if (!info) {
    try {
      if (timeSeries) {
        await db.createCollection(name, {
          timeseries: { timeField: 'time', metaField: 'meta', granularity: 'seconds' },
          ...(retentionSeconds === undefined ? {} : { expireAfterSeconds: retentionSeconds }),
        });
      } else {
        await db.createCollection(name);
      }
    } catch (err) {
      // Another hub node created it at the same moment.
      if (!(err instanceof MongoServerError && err.code === NAMESPACE_EXISTS)) throw err;
    }
    [info] = await db.listCollections({ name }).toArray();
  }
  const isTimeSeries = (info as { type?: string } | undefined)?.type === 'timeseries';
  const coll = db.collection(name);
  if (isTimeSeries) {
    const current = (info as { options?: { expireAfterSeconds?: number } }).options?.expireAfterSeconds;
    if (current !== retentionSeconds) {
      try {
        await db.command({ collMod: name, expireAfterSeconds: retentionSeconds ?? 'off' });
      } catch (err) {
        if (!(err instanceof MongoServerError)) throw err;
        log(
          `telemetry: could not set expireAfterSeconds=${retentionSeconds ?? 'off'} on ${name} (${err.message}); the retention job still prunes`,
        );
      }
    }
  } else {
    if (timeSeries)
      log(`telemetry: ${name} exists as a plain collection; keeping it (history works the same, without time-series compression)`);
    const indexes = (await coll.listIndexes().toArray()) as { name?: string; expireAfterSeconds?: number }[];
    const ttl = indexes.find((ix) => ix.name === 'ttl_time');
    if (ttl && ttl.expireAfterSeconds !== retentionSeconds) await coll.dropIndex('ttl_time');
    if (retentionSeconds !== undefined && (!ttl || ttl.expireAfterSeconds !== retentionSeconds)) {
      await coll.createIndex({ time: 1 }, { name: 'ttl_time', expireAfterSeconds: retentionSeconds });
    }
  }
  await coll.createIndex({ 'meta.assetId': 1, [`meta.${idField}`]: 1, time: 1 }, { name: 'series_time' });
  return isTimeSeries;
}

/** The database in mongodb://host/<db>?…, if any. */
function dbNameFromUrl(url: string): string | undefined {
  const name = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(url)?.[1];
  return name ? decodeURIComponent(name) : undefined;
}
