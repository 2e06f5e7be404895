import { topics } from '@edgehub/shared';
import type { Logger } from 'pino';
import { RESUME_BATCH_METHOD, replayBuffer, type BufferedReading, type Reading, type ReadingBuffer } from '../buffer/index.js';
import type { Uplink } from '../uplink/uplink.js';

const FLUSH_MS = 200;
const FLUSH_ITEMS = 200;
const REPLAY_ITEMS = 500;
const REPLAY_BYTES = 256 * 1024;
/** Readings waiting in memory for the live path before they spill to the durable buffer. */
const MAX_PENDING = 5 * FLUSH_ITEMS;

export interface TelemetryStats {
  sent: number;
  buffered: number;
  replayed: number;
  refusedByHub: number;
}

/**
 * Readings on their way up: live through the gateway's `post/batch` (allowOfflineSubDevice, so a
 * sub-device past the online cap still reports), or into the durable buffer while the uplink is
 * down. After a reconnect the backlog is replayed in order through `resume/batch` before anything
 * new goes live, and new readings queue behind it, so every device's data arrives in order.
 * A reading is removed from the buffer only after the hub replied (docs/ENOS-PROTOCOL.md §4.1, §5.4).
 */
export class TelemetryPath {
  private live = false;
  private pending: Reading[] = [];
  /** The live batch awaiting its reply: on an outage it goes to the buffer first, to keep the order. */
  private inFlight?: Reading[];
  private flushTimer?: NodeJS.Timeout;
  /** Appends to the buffer, in order, one after another. */
  private appendChain: Promise<unknown> = Promise.resolve();
  private draining?: Promise<void>;
  readonly stats: TelemetryStats = { sent: 0, buffered: 0, replayed: 0, refusedByHub: 0 };
  /** Called once readings are durable in the buffer (diagnostics and the outage test). */
  onDurable?: (readings: readonly Reading[]) => void;

  constructor(
    private readonly uplink: Uplink,
    private readonly buffer: ReadingBuffer,
    private readonly gateway: { productKey: string; deviceKey: string },
    private readonly log: Logger,
  ) {}

  add(reading: Reading): void {
    if (!this.live) {
      this.toBuffer([reading]);
      return;
    }
    this.pending.push(reading);
    if (this.pending.length > MAX_PENDING) {
      // The uplink is up but slower than the field: rather than growing in memory (and dying with
      // the process), the excess goes to the durable buffer and comes back through resume/batch.
      this.log.warn({ pending: this.pending.length }, 'uplink slower than the field: spilling to the buffer');
      this.pause();
      void this.resume();
      return;
    }
    if (this.pending.length >= FLUSH_ITEMS) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** The uplink is up (and sub-devices logged in): replay the backlog, then go live. */
  resume(): Promise<void> {
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
    return this.draining;
  }

  /** The uplink went down: everything from now on is buffered. */
  pause(): void {
    this.live = false;
    if (this.inFlight) {
      const older = this.inFlight;
      this.inFlight = undefined;
      this.toBuffer(older);
    }
    if (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      this.toBuffer(batch);
    }
  }

  /** Resolves when everything handed over so far is either acknowledged by the hub or durable in the buffer. */
  async settle(): Promise<void> {
    await this.flush();
    await this.appendChain;
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.pause();
    await this.appendChain;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const result = await replayBuffer(this.buffer, (batch) => this.sendBacklog(batch), { batchMaxItems: REPLAY_ITEMS, batchMaxBytes: REPLAY_BYTES });
      this.stats.replayed += result.readings;
      if (result.outcome !== 'drained' || !this.uplink.connected) return;
      // Readings taken while replaying were buffered behind the backlog: drain until nothing is left.
      await this.appendChain;
      if (this.buffer.size() === 0) {
        this.live = true;
        return;
      }
    }
  }

  private async sendBacklog(batch: readonly BufferedReading[]): Promise<'acked' | 'retry'> {
    try {
      const r = await this.uplink.request(topics.measurepointResumeBatch(this.gateway.productKey, this.gateway.deviceKey), RESUME_BATCH_METHOD, batch.map((b) => b.reading), { allowOfflineSubDevice: true });
      if (r.code !== 200) {
        // The hub refused the data itself (e.g. 1204): sending it again would be refused again and
        // block everything behind it. Counted and logged, not retried.
        this.stats.refusedByHub += batch.length;
        this.log.error({ code: r.code, message: r.message, readings: batch.length }, 'hub refused buffered readings');
      }
      return 'acked';
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'backlog replay interrupted');
      return 'retry';
    }
  }

  /** One live batch in flight at a time, in order. */
  private flushing: Promise<void> = Promise.resolve();

  private flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce());
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0 || !this.live) return;
    // At most FLUSH_ITEMS readings per message (the hub takes ≤ 1000 entries and 512 KB per
    // request): readings that piled up while a batch was in flight go in the next messages.
    const batch = this.pending.slice(0, FLUSH_ITEMS);
    this.pending = this.pending.slice(FLUSH_ITEMS);
    if (this.pending.length > 0) void this.flush();
    this.inFlight = batch;
    try {
      const r = await this.uplink.request(topics.measurepointPostBatch(this.gateway.productKey, this.gateway.deviceKey), 'thing.measurepoint.post.batch', batch, { allowOfflineSubDevice: true });
      if (this.inFlight === batch) this.inFlight = undefined;
      if (r.code === 200) {
        this.stats.sent += batch.length;
        return;
      }
      this.stats.refusedByHub += batch.length;
      this.log.error({ code: r.code, message: r.message, readings: batch.length }, 'hub refused readings');
    } catch (err) {
      // No reply: the hub may or may not have them. Buffered and sent again later: the hub keeps one
      // sample per (device, point, time), so a repeat is harmless and nothing is lost.
      this.log.warn({ err: (err as Error).message, readings: batch.length }, 'live post failed: buffering');
      this.live = false;
      // pause() may already have buffered it (before anything newer); otherwise do it now.
      if (this.inFlight === batch) {
        this.inFlight = undefined;
        this.toBuffer(batch);
      }
    }
  }

  /** Readings waiting for the append in progress: written together, in order (group commit). */
  private spill: Reading[] = [];
  private appending = false;

  private toBuffer(readings: Reading[]): void {
    this.stats.buffered += readings.length;
    this.spill.push(...readings);
    if (this.appending) return;
    this.appending = true;
    this.appendChain = this.appendChain.then(async () => {
      while (this.spill.length > 0) {
        const batch = this.spill;
        this.spill = [];
        try {
          const r = await this.buffer.append(batch);
          this.onDurable?.(batch.slice(0, batch.length - r.refused));
          if (r.refused || r.dropped) this.log.warn({ refused: r.refused, dropped: r.dropped }, 'buffer limits dropped readings');
        } catch (err) {
          this.log.error({ err }, 'buffer append failed');
        }
      }
      this.appending = false;
    });
  }
}
