/**
 * Store-and-forward buffer: a durable on-disk FIFO of readings taken while the uplink is down,
 * replayed through `thing.measurepoint.resume.batch` after reconnect (issue 6, docs/ENOS-PROTOCOL.md §4.1).
 *
 * Contract
 * - Durable append: `append()` resolves only after its LMDB transaction is committed and fsync'd
 *   (the environment runs without overlapping sync). A SIGKILL, crash or power loss after that
 *   loses nothing; one `append()` is one transaction, so it is all there or not at all.
 * - Order: readings come back from `peek()` in append order, across restarts.
 * - Stable ids: an id is the reading's durable sequence number. It never changes and is never
 *   reused (the next number is stored with the data), so after a crash between "sent" and `ack()`
 *   the reopened buffer hands out the SAME readings with the SAME ids, and the edge resends them.
 * - Exactly-once per (device, point, timestamp) is therefore at-least-once delivery plus an
 *   idempotent receiver: the hub's telemetry store keys a sample by (assetId, pointId, time), so a
 *   resent reading overwrites itself. Callers must `ack()` only after the hub replied 200, and
 *   must not rewrite a reading's `time` (it is the identity).
 * - Bounds: `maxBytes` counts the JSON bytes of the stored wire entries (LMDB's own page overhead
 *   is not counted; the file keeps its high-water mark and reuses freed pages). When full,
 *   'drop-oldest' removes the oldest readings to make room, 'refuse-newest' turns the new ones
 *   away. `maxAgeMs` is measured from each reading's `time` with `clock()`; expired readings are
 *   dropped whatever the policy (stale data is worth less than fresh data, never more), from the
 *   head on every append and wherever `peek()` meets them, so none is ever handed out.
 * - Counters are stored in the same transactions as the readings, so they survive restarts and
 *   always agree with the content: size = appended − acked − droppedForSize − droppedForAge.
 * - One process owns a directory at a time.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { open, type Database, type RootDatabase } from 'lmdb';
import { decodeReading, encodeReading, readingTime, type EncodedReading, type Reading } from './reading.js';

export type DropPolicy = 'drop-oldest' | 'refuse-newest';

export interface ReadingBufferOptions {
  /** Directory of the LMDB environment; created (mode 0700) if missing. */
  dir: string;
  /** Bound on the stored readings' JSON bytes. */
  maxBytes: number;
  /** Readings whose `time` is older than this are dropped. `Infinity` disables the bound. */
  maxAgeMs: number;
  /** What happens to a reading that does not fit in `maxBytes`. */
  dropPolicy: DropPolicy;
  /**
   * A single reading larger than this is refused under either policy: it could never be part of
   * a batch, and would block the queue behind it. Default min(64 KiB, maxBytes).
   */
  maxReadingBytes?: number;
  /** Epoch ms; injectable for the age bound. */
  clock?: () => number;
}

/** Opaque. Stable across restarts; compare only for equality. */
export type ReadingId = string;

export interface BufferedReading {
  readonly id: ReadingId;
  /** The reading, parsed from `json` when first asked for. */
  readonly reading: Reading;
  /** The reading's wire entry as stored: what a batch's `params` array carries. */
  readonly json: string;
  /** JSON bytes of the reading's wire entry. */
  readonly bytes: number;
}

/**
 * A reading as peek() hands it out. The sender puts the stored JSON into the batch as it is, so a
 * reading is parsed only when something needs its fields (the hub refused or skipped it):
 * docs/BENCHMARKS.md, Edge runtime.
 */
class StoredReading implements BufferedReading {
  #reading: Reading | undefined;
  constructor(
    readonly id: ReadingId,
    readonly json: string,
    readonly bytes: number,
  ) {}

  get reading(): Reading {
    return (this.#reading ??= decodeReading(this.json));
  }
}

export interface AppendResult {
  /** Ids of this call's readings that are in the buffer when it resolves, in order. */
  ids: ReadingId[];
  /** This call's readings turned away (buffer full under 'refuse-newest', or over maxReadingBytes). */
  refused: number;
  /** Readings (older ones or this call's) removed by this call for size or age. */
  dropped: number;
}

export interface BufferStats {
  /** Readings accepted (stored, or dropped at once because already older than maxAgeMs). */
  appended: number;
  acked: number;
  droppedForSize: number;
  droppedForAge: number;
  refused: number;
}

export interface ReadingBuffer {
  append(readings: readonly Reading[]): Promise<AppendResult>;
  /**
   * The oldest readings, in order, without removing them: at most `maxItems`, and their JSON
   * array (`[e1,e2,…]`) at most `maxBytes`. Empty only when the buffer is. `maxBytes` must hold
   * the largest reading the buffer accepts (`limits.maxReadingBytes + 2`).
   */
  peek(maxItems: number, maxBytes: number): Promise<BufferedReading[]>;
  /** Removes exactly these readings; ids already removed or unknown are ignored. Resolves to how many were removed. */
  ack(ids: readonly ReadingId[]): Promise<number>;
  size(): number;
  bytes(): number;
  stats(): BufferStats;
  readonly limits: Readonly<{ maxBytes: number; maxAgeMs: number; maxReadingBytes: number; dropPolicy: DropPolicy }>;
  close(): Promise<void>;
}

/** Stored under one key, written in every transaction that changes the content. */
interface State extends BufferStats {
  format: 1;
  nextSeq: number;
  count: number;
  bytes: number;
}

const STATE_KEY = 'state';
const DEFAULT_MAX_READING_BYTES = 64 * 1024;
/** Expired readings removed per transaction, so a long outage's backlog never holds the writer for long. */
const EXPIRE_CHUNK = 5000;

export async function openReadingBuffer(options: ReadingBufferOptions): Promise<ReadingBuffer> {
  const limits = checkOptions(options);
  // Readings are the customers' data: only the edge's user may enter the directory.
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  await chmod(options.dir, 0o700);
  // Without overlapping sync a commit is fsync'd before its promise resolves: that is the
  // durability `append()` promises (the lmdb default resolves at commit and syncs later).
  const root: RootDatabase = open({ path: options.dir, maxDbs: 4, overlappingSync: false });
  const meta: Database<State, string> = root.openDB({ name: 'meta', encoding: 'json' });
  const initial = meta.get(STATE_KEY);
  if (initial !== undefined && initial.format !== 1) {
    await root.close();
    throw new Error(`reading buffer at ${options.dir} has unknown format ${String(initial.format)}`);
  }
  return new LmdbReadingBuffer(root, meta, initial ?? emptyState(), limits, options.clock ?? Date.now);
}

/** The buffer over one LMDB environment: readings keyed by sequence number, the state beside them. */
class LmdbReadingBuffer implements ReadingBuffer {
  /** Keys are sequence numbers (ordered-binary keeps numeric order); values the wire JSON. */
  private readonly readings: Database<string, number>;
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly root: RootDatabase,
    private readonly meta: Database<State, string>,
    /** The state as of the last durable transaction, for the synchronous getters. */
    private committed: State,
    readonly limits: ReadingBuffer['limits'],
    private readonly clock: () => number,
  ) {
    this.readings = root.openDB({ name: 'readings', encoding: 'string' });
  }

  async append(batch: readonly Reading[]): Promise<AppendResult> {
    this.live();
    if (!Array.isArray(batch)) throw new TypeError('append expects an array of readings');
    // Encode (and validate) everything first: a bad reading fails the call with nothing written.
    const encoded = (batch as Reading[]).map((r, i) => encodeReading(r, i));
    if (encoded.length === 0) return { ids: [], refused: 0, dropped: 0 };
    return this.write((s) => this.store(s, encoded, this.clock()));
  }

  async peek(maxItems: number, maxBytes: number): Promise<BufferedReading[]> {
    this.live();
    if (!Number.isSafeInteger(maxItems) || maxItems < 1) throw new RangeError('peek: maxItems must be a positive integer');
    if (!Number.isSafeInteger(maxBytes) || maxBytes < this.limits.maxReadingBytes + 2) {
      throw new RangeError(
        `peek: maxBytes must be an integer >= maxReadingBytes + 2 (${this.limits.maxReadingBytes + 2}), so the oldest reading always fits`,
      );
    }
    for (;;) {
      const { out, expired } = this.readHead(maxItems, maxBytes, this.clock());
      if (expired.length > 0) {
        await this.write((s) => {
          for (const key of expired) if (this.remove(s, key)) s.droppedForAge += 1;
        });
      }
      // Only a full chunk of expired readings can leave the batch short of what is there.
      if (expired.length < EXPIRE_CHUNK || out.length > 0) return out;
    }
  }

  async ack(ids: readonly ReadingId[]): Promise<number> {
    this.live();
    if (!Array.isArray(ids)) throw new TypeError('ack expects an array of ids');
    const keys = ids.map(parseId).filter((k): k is number => k !== undefined);
    if (keys.length === 0) return 0;
    return this.write((s) => {
      let n = 0;
      for (const key of keys) {
        if (this.remove(s, key)) {
          s.acked += 1;
          n += 1;
        }
      }
      return n;
    });
  }

  size(): number {
    return this.committed.count;
  }

  bytes(): number {
    return this.committed.bytes;
  }

  stats(): BufferStats {
    const { appended, acked, droppedForSize, droppedForAge, refused } = this.committed;
    return { appended, acked, droppedForSize, droppedForAge, refused };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let accepted writes finish: a caller may not await an ack before shutting down.
    await Promise.allSettled([...this.inFlight]);
    await this.root.close();
  }

  private live(): void {
    if (this.closed) throw new Error('reading buffer is closed');
  }

  private isExpired(time: number, now: number): boolean {
    return now - time > this.limits.maxAgeMs;
  }

  /**
   * Runs `fn` inside one write transaction with the state as of that transaction (it sees the
   * uncommitted work of transactions batched before it), stores the state with the changes, and
   * publishes it for the synchronous getters once durable.
   */
  private write<T>(fn: (s: State) => T): Promise<T> {
    this.live();
    const p = this.root
      .transaction(() => {
        const s: State = { ...(this.meta.get(STATE_KEY) ?? emptyState()) };
        const result = fn(s);
        this.meta.putSync(STATE_KEY, s);
        return { result, s };
      })
      .then(({ result, s }) => {
        this.committed = s;
        return result;
      });
    this.inFlight.add(p);
    const forget = () => this.inFlight.delete(p);
    p.then(forget, forget);
    return p;
  }

  /**
   * The oldest readings in date that fit, and the expired ones met on the way (at most a chunk).
   * A read snapshot: everything in it is committed; a concurrent ack or drop of one of these ids
   * is harmless (acking it later is a no-op).
   */
  private readHead(maxItems: number, maxBytes: number, now: number): { out: BufferedReading[]; expired: number[] } {
    const out: BufferedReading[] = [];
    const expired: number[] = [];
    let used = 2; // "[" and "]"
    for (const { key, value } of this.readings.getRange({})) {
      if (this.limits.maxAgeMs !== Infinity && this.isExpired(readingTime(value), now)) {
        expired.push(key);
        if (expired.length >= EXPIRE_CHUNK) break;
        continue;
      }
      const bytes = Buffer.byteLength(value, 'utf8');
      const add = bytes + (out.length > 0 ? 1 : 0); // the comma
      if (out.length >= maxItems || used + add > maxBytes) break;
      out.push(new StoredReading(String(key), value, bytes));
      used += add;
    }
    return { out, expired };
  }

  /** Removes one stored reading; the caller counts why. Runs inside a write transaction. */
  private remove(s: State, key: number): boolean {
    const value = this.readings.get(key);
    if (value === undefined) return false;
    this.readings.removeSync(key);
    s.count -= 1;
    s.bytes -= Buffer.byteLength(value, 'utf8');
    return true;
  }

  private oldestKey(): number | undefined {
    for (const key of this.readings.getKeys({ limit: 1 })) return key;
    return undefined;
  }

  /** Drops expired readings from the head, up to the first one still in date. */
  private expireHead(s: State, now: number): number {
    if (this.limits.maxAgeMs === Infinity) return 0;
    // Collect first: the cursor is not moved over entries deleted under it.
    const keys: number[] = [];
    for (const { key, value } of this.readings.getRange({ limit: EXPIRE_CHUNK })) {
      if (!this.isExpired(readingTime(value), now)) break;
      keys.push(key);
    }
    for (const key of keys) this.remove(s, key);
    s.droppedForAge += keys.length;
    return keys.length;
  }

  /** One append's readings, under the size and age bounds and the drop policy. Inside a write transaction. */
  private store(s: State, batch: readonly EncodedReading[], now: number): AppendResult {
    let dropped = this.expireHead(s, now);
    let refused = 0;
    let refusing = false;
    const ids: number[] = [];
    for (const r of batch) {
      // A reading that could never be sent is refused under either policy. Under 'refuse-newest'
      // everything after the first reading that found no room is refused too: a full buffer
      // keeps a prefix of the call rather than letting a later, smaller reading jump a gap.
      if (refusing || r.bytes > this.limits.maxReadingBytes) {
        refused += 1;
        continue;
      }
      if (this.isExpired(r.time, now)) {
        s.appended += 1;
        s.droppedForAge += 1;
        dropped += 1;
        continue;
      }
      if (s.bytes + r.bytes > this.limits.maxBytes) {
        if (this.limits.dropPolicy === 'refuse-newest') {
          refusing = true;
          refused += 1;
          continue;
        }
        dropped += this.makeRoom(s, r.bytes);
      }
      ids.push(this.put(s, r));
    }
    s.refused += refused;
    // Only a drop can have removed readings of this call: otherwise every id is still there.
    const first = dropped > 0 ? this.oldestKey() : ids[0];
    const kept = first === undefined ? [] : ids.filter((k) => k >= first);
    return { ids: kept.map(String), refused, dropped };
  }

  /**
   * Drops the oldest readings until `bytes` fit. Terminates: bytes <= maxReadingBytes <= maxBytes,
   * and this call's own earlier readings are at the tail, so they go last (and only if needed).
   */
  private makeRoom(s: State, bytes: number): number {
    let dropped = 0;
    while (s.bytes + bytes > this.limits.maxBytes) {
      const head = this.oldestKey();
      if (head === undefined || !this.remove(s, head)) break;
      s.droppedForSize += 1;
      dropped += 1;
    }
    return dropped;
  }

  private put(s: State, r: EncodedReading): number {
    const key = s.nextSeq;
    this.readings.putSync(key, r.json);
    s.nextSeq += 1;
    s.count += 1;
    s.bytes += r.bytes;
    s.appended += 1;
    return key;
  }
}

function emptyState(): State {
  return { format: 1, nextSeq: 1, count: 0, bytes: 0, appended: 0, acked: 0, droppedForSize: 0, droppedForAge: 0, refused: 0 };
}

/** Ids are decimal sequence numbers; anything else was never handed out. */
function parseId(id: unknown): number | undefined {
  if (typeof id !== 'string' || !/^[1-9][0-9]{0,15}$/.test(id)) return undefined;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : undefined;
}

function checkOptions(o: ReadingBufferOptions): ReadingBuffer['limits'] {
  if (typeof o !== 'object' || o === null) throw new TypeError('openReadingBuffer: options are required');
  if (typeof o.dir !== 'string' || o.dir === '') throw new TypeError('openReadingBuffer: dir must be a non-empty path');
  if (!Number.isSafeInteger(o.maxBytes) || o.maxBytes < 1) throw new RangeError('openReadingBuffer: maxBytes must be a positive integer');
  if (typeof o.maxAgeMs !== 'number' || Number.isNaN(o.maxAgeMs) || o.maxAgeMs <= 0) {
    throw new RangeError('openReadingBuffer: maxAgeMs must be a positive number of milliseconds (or Infinity)');
  }
  if (o.dropPolicy !== 'drop-oldest' && o.dropPolicy !== 'refuse-newest') {
    throw new TypeError(`openReadingBuffer: dropPolicy must be 'drop-oldest' or 'refuse-newest'`);
  }
  const maxReadingBytes = o.maxReadingBytes ?? Math.min(DEFAULT_MAX_READING_BYTES, o.maxBytes);
  if (!Number.isSafeInteger(maxReadingBytes) || maxReadingBytes < 1 || maxReadingBytes > o.maxBytes) {
    throw new RangeError('openReadingBuffer: maxReadingBytes must be a positive integer no larger than maxBytes');
  }
  if (o.clock !== undefined && typeof o.clock !== 'function') throw new TypeError('openReadingBuffer: clock must be a function');
  return Object.freeze({ maxBytes: o.maxBytes, maxAgeMs: o.maxAgeMs, maxReadingBytes, dropPolicy: o.dropPolicy });
}
