/**
 * The telemetry store port: what ingestion and the measurepoint API need from a time-series
 * backend, nothing more. Adapters: embedded (LMDB, its own environment under the data directory)
 * and MongoDB (time-series collections). One contract suite proves they answer alike
 * (test: hub/test/telemetry-store.contract.test.ts).
 *
 * The model:
 * - A **series** is one measurepoint (or one event id) of one device (assetId). A sample the
 *   device dated itself is identified by (assetId, pointId, time): appending the same identity
 *   again replaces it, so a QoS 1 redelivery or a resend of cached data
 *   (`thing.measurepoint.resume`) never doubles history. Within one append, and between appends,
 *   the last write wins. A sample the hub dated (`hubTime`: the device sent no time) replaces
 *   nothing: every one is kept, beside any other of the same millisecond, in arrival order
 *   (docs/PROTOCOL.md §5.5, "Telemetry: timestamps"). Within one millisecond of a series the
 *   device-dated sample comes first, then the hub-dated ones.
 * - **Latest** is kept apart from history, per (assetId, pointId): it moves only to a sample whose
 *   time is not older than the stored one, whichever topic it came by, so resumed (older) data
 *   lands in history but never replaces a newer latest value. Latest values outlive retention:
 *   they are the last known state of a device, not history.
 * - **History ranges** are half-open, `startTime <= time < endTime` (epoch ms), so adjacent
 *   windows tile without overlap. Several series are merged in (time, id) order: ASC by time, then
 *   id, then arrival within the millisecond; DESC exactly reversed. Pages are continued with an
 *   opaque cursor bound to the query.
 * - Times are integer epoch milliseconds in [0, MAX_TIME]; ids are non-empty strings of at most
 *   MAX_ID_LENGTH characters. Values are any JSON value.
 */

export type Order = 'ASC' | 'DESC';

/** Greatest time a sample may carry: the largest JavaScript (and BSON) date, year 275760. */
export const MAX_TIME = 8_640_000_000_000_000;
/** Longest asset, point and event id (keeps embedded keys well inside LMDB's 1978-byte key limit). */
export const MAX_ID_LENGTH = 256;
/** Largest page of a history query. */
export const MAX_HISTORY_LIMIT = 1000;
/** Most series (point or event ids) one history query may merge. */
export const MAX_HISTORY_SERIES = 200;

/** One measurepoint reading to store. */
export interface SampleInput {
  assetId: string;
  orgId: string;
  pointId: string;
  value: unknown;
  /** 0–9 where the model has a quality (docs/ENOS-PROTOCOL.md §4.1). */
  quality?: number;
  time: number;
  /** Offline/historical data (`thing.measurepoint.resume`); kept with the sample, shown in history. */
  resume?: boolean;
  /** The hub stamped `time` (the device sent none): the sample is kept beside others of the same time. */
  hubTime?: boolean;
}

/** One event occurrence to store (`thing.event.{eventId}.post`). */
export interface EventInput {
  assetId: string;
  orgId: string;
  eventId: string;
  values: Record<string, unknown>;
  time: number;
  /** The hub stamped `time` (the device sent none): the event is kept beside others of the same time. */
  hubTime?: boolean;
}

export interface LatestSample {
  value: unknown;
  quality?: number;
  time: number;
}

export interface LatestEvent {
  values: Record<string, unknown>;
  time: number;
}

export interface RangeQuery {
  assetId: string;
  /** Inclusive. */
  startTime: number;
  /** Exclusive; must be greater than startTime. */
  endTime: number;
  /** Default ASC (oldest first). */
  order?: Order;
  /** 1..MAX_HISTORY_LIMIT, default 100. */
  limit?: number;
  /** The `nextCursor` of the previous page of the same query. */
  cursor?: string;
}

export interface HistoryQuery extends RangeQuery {
  /** 1..MAX_HISTORY_SERIES distinct ids. */
  pointIds: string[];
}

export interface EventHistoryQuery extends RangeQuery {
  eventIds: string[];
}

export interface StoredSample {
  pointId: string;
  time: number;
  value: unknown;
  quality?: number;
  /** Present (true) only on samples that came as resumed (offline) data. */
  resume?: true;
}

export interface StoredEvent {
  eventId: string;
  time: number;
  values: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  /** Continues the query after the last item; null when nothing is left. */
  nextCursor: string | null;
}

/** A query or a sample outside the port's rules; `field` names the offending input. */
export class InvalidTelemetryInput extends TypeError {
  readonly field: string;
  /** What is wrong with the field, without its name. */
  readonly reason: string;
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'InvalidTelemetryInput';
    this.field = field;
    this.reason = reason;
  }
}

export interface TelemetryStore {
  /** The adapter's name as shown in logs and test output: 'embedded' or 'mongodb'. */
  readonly kind: string;
  /** All or nothing; resolves once the samples (history and latest) are durable. */
  appendMeasurepoints(samples: readonly SampleInput[]): Promise<void>;
  /** All or nothing; resolves once the events (history and latest) are durable. */
  appendEvents(events: readonly EventInput[]): Promise<void>;
  /**
   * Latest measurepoint values of each asset (optionally only the named points). Every asked
   * asset is in the map, with `{}` when it has none.
   */
  latest(assetIds: readonly string[], pointIds?: readonly string[]): Promise<Map<string, Record<string, LatestSample>>>;
  /** Latest occurrence of each event id of one asset. */
  latestEvents(assetId: string): Promise<Record<string, LatestEvent>>;
  history(query: HistoryQuery): Promise<Page<StoredSample>>;
  eventHistory(query: EventHistoryQuery): Promise<Page<StoredEvent>>;
  /** Deletes history (samples and events) older than `before`; latest values stay. Returns how many went. */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
}
