import { codes, topics } from '@edgehub/shared';
import type { Logger } from 'pino';
import { RESUME_BATCH_METHOD, type BufferedReading, type Reading, type ReadingBuffer } from '../buffer/index.js';
import type { RefusedReading, RefusedReadings } from '../buffer/refused-readings.js';
import type { Uplink } from '../uplink/uplink.js';

const POST_BATCH_METHOD = 'thing.measurepoint.post.batch';
/** Live readings wait at most this long for company before they are sent. */
const FLUSH_MS = 200;
/** Readings per live post/batch (the hub takes ≤ 1000 entries and 512 KB per request). */
const LIVE_ITEMS = 200;
const REPLAY_ITEMS = 500;
const BATCH_BYTES = 256 * 1024;
/** Wait before sending again after a request got no reply or a transient error. */
const RETRY_MS = 1000;

/** Reply codes that refuse the data itself: sending it again would be refused again. */
const DATA_REFUSALS: ReadonlySet<number> = new Set([
  codes.modelValidationFailed,
  codes.msgTooLarge,
  codes.noWritePermission,
  codes.noSubDevicePermission,
  codes.payloadFormatError,
  codes.payloadEmpty,
  codes.methodMismatch,
  codes.notGatewayMqtt,
]);

export interface TelemetryStats {
  /** Readings the hub accepted through post/batch. */
  sent: number;
  /** Readings made durable in the buffer (every reading is, before it is sent). */
  buffered: number;
  /** Readings the hub accepted through resume/batch after an outage. */
  replayed: number;
  /** Readings of batches the hub refused as a whole (kept aside, not retried). */
  refusedByHub: number;
  /** Measurepoint values the hub skipped as invalid for the thing model (kept aside). */
  skippedByHub: number;
}

interface SkippedEntry {
  index: number;
  measurepoints: string[];
  reasons: string[];
}

/**
 * Readings on their way up (docs/ARCHITECTURE.md, "Edge: delivery"). Every reading is appended to
 * the durable buffer first (group commit: readings that arrive while an append is running are
 * written together by the next one), and removed only after the hub replied. One sender reads
 * the buffer head: after a (re)connect it replays the backlog in order through `resume/batch`,
 * and once the buffer has been empty it sends live through `post/batch`. Both carry
 * allowOfflineSubDevice (a sub-device past the online cap still reports) and
 * skipInvalidMeasurepoints (one point the thing model refuses never drops the others); what the
 * hub skips or refuses is kept aside in RefusedReadings, never silently dropped.
 */
export class TelemetryPath {
  private connected = false;
  /** True from a disconnect until the buffer has been drained once: the head is a backlog. */
  private backlog = true;
  private pumping?: Promise<void>;
  private drained?: { promise: Promise<void>; resolve: () => void };
  /** Wakes the sender when an append committed or the uplink went down. */
  private wake?: () => void;
  /** Appends to the buffer, in order, one after another. */
  private appendChain: Promise<unknown> = Promise.resolve();
  /** Readings waiting for the append in progress: written together, in order (group commit). */
  private spill: Reading[] = [];
  private appending = false;
  /** Readings answered by the hub whose removal from the buffer is being committed. */
  private readonly acking = new Set<string>();
  private ackingBytes = 0;
  private ackChain: Promise<unknown> = Promise.resolve();
  readonly stats: TelemetryStats = { sent: 0, buffered: 0, replayed: 0, refusedByHub: 0, skippedByHub: 0 };
  /** Called once readings are durable in the buffer (diagnostics and the kill tests). */
  onDurable?: (readings: readonly Reading[]) => void;

  constructor(
    private readonly uplink: Uplink,
    private readonly buffer: ReadingBuffer,
    private readonly gateway: { productKey: string; deviceKey: string },
    private readonly refused: RefusedReadings,
    private readonly log: Logger,
  ) {}

  add(reading: Reading): void {
    this.toBuffer([reading]);
  }

  /**
   * The uplink is up (and sub-devices logged in): replay the backlog, then go live. Resolves once
   * the buffer has been seen empty, i.e. everything handed over before has been answered by the
   * hub (or when the uplink went down again).
   */
  resume(): Promise<void> {
    this.connected = true;
    if (!this.drained) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.drained = { promise, resolve };
    }
    const drained = this.drained.promise;
    // An idle sender looks at the buffer again, so a resume with nothing pending resolves at once.
    this.wake?.();
    this.pumping ??= this.pump()
      .catch((err: unknown) => this.log.error({ err }, 'telemetry sender failed; it restarts with the next connection'))
      .finally(() => {
        this.pumping = undefined;
        this.finishDrain();
      });
    return drained;
  }

  /** The uplink went down: what is in the buffer stays there and is replayed after the next connect. */
  pause(): void {
    this.connected = false;
    this.backlog = true;
    this.wake?.();
  }

  /** Resolves when everything handed over so far is durable in the buffer. */
  async settle(): Promise<void> {
    while (this.appending || this.spill.length > 0) await this.appendChain;
  }

  /** Stops sending; resolves once everything handed over is durable. Call `stopped()` after the uplink is closed. */
  async stop(): Promise<void> {
    this.pause();
    await this.settle();
  }

  /** Resolves when the sender has finished its last request (the uplink's stop rejects one in flight). */
  async stopped(): Promise<void> {
    await this.pumping;
    await this.ackChain;
  }

  private finishDrain(): void {
    const d = this.drained;
    this.drained = undefined;
    d?.resolve();
  }

  private get up(): boolean {
    return this.connected && this.uplink.connected;
  }

  private async pump(): Promise<void> {
    while (this.up) {
      const replaying = this.backlog;
      const limit = replaying ? REPLAY_ITEMS : LIVE_ITEMS;
      // Readings whose removal is still being committed are at the head too: look past them.
      const head = await this.buffer.peek(limit + this.acking.size, BATCH_BYTES + this.ackingBytes);
      if (!this.up) return;
      const batch = this.unacked(head, limit);
      if (batch.length === 0 && head.length > 0) {
        await this.ackChain;
        continue;
      }
      if (batch.length === 0) {
        // Empty only counts once every reading handed over is durable (and so would have been seen).
        if (this.appending || this.spill.length > 0) {
          await this.settle();
          continue;
        }
        this.backlog = false;
        this.finishDrain();
        await this.nextAppend();
        // Live: let a few polls' readings join the batch, unless a full batch is already there.
        if (this.up && !this.backlog && this.buffer.size() < LIVE_ITEMS) await this.sleep(FLUSH_MS, () => this.buffer.size() >= LIVE_ITEMS);
        continue;
      }
      if (!(await this.send(batch, replaying))) await this.sleep(RETRY_MS);
    }
  }

  /** Sends one batch and removes it from the buffer once the hub replied; false when it must be sent again. */
  private async send(batch: readonly BufferedReading[], replaying: boolean): Promise<boolean> {
    // The stored entries are the wire entries: the batch is their JSON joined, never re-encoded.
    let params = '[';
    for (let i = 0; i < batch.length; i++) params += (i > 0 ? ',' : '') + batch[i]!.json;
    params += ']';
    const topic = replaying
      ? topics.measurepointResumeBatch(this.gateway.productKey, this.gateway.deviceKey)
      : topics.measurepointPostBatch(this.gateway.productKey, this.gateway.deviceKey);
    let reply;
    try {
      reply = await this.uplink.requestEncoded(topic, replaying ? RESUME_BATCH_METHOD : POST_BATCH_METHOD, params, {
        allowOfflineSubDevice: true,
        skipInvalidMeasurepoints: true,
      });
    } catch (err) {
      // No reply: the hub may or may not have them. They stay at the head and go again; the hub
      // keeps one sample per (device, point, time), so a repeat is harmless and nothing is lost.
      this.log.warn({ err: (err as Error).message, readings: batch.length }, 'no reply to a telemetry batch: sending it again');
      return false;
    }
    if (reply.code === 200) {
      const skipped = ((reply.data as { skipped?: SkippedEntry[] } | undefined)?.skipped ?? []).filter((s) => batch[s.index] !== undefined);
      if (skipped.length > 0) await this.keepSkipped(batch, skipped);
      if (replaying) this.stats.replayed += batch.length;
      else this.stats.sent += batch.length;
    } else if (DATA_REFUSALS.has(reply.code)) {
      this.stats.refusedByHub += batch.length;
      this.log.error(
        { code: reply.code, message: reply.message, readings: batch.length, keptIn: this.refused.file },
        'hub refused a telemetry batch: kept aside',
      );
      await this.keep(
        batch.map(({ reading: r }) => ({
          at: Date.now(),
          productKey: r.productKey,
          deviceKey: r.deviceKey,
          time: r.time,
          measurepoints: r.measurepoints,
          code: reply.code,
          reason: reply.message ?? '',
        })),
      );
    } else {
      this.log.warn(
        { code: reply.code, message: reply.message, readings: batch.length },
        'hub could not take a telemetry batch now: sending it again',
      );
      return false;
    }
    // The removal is committed while the next batch goes out: a reading whose removal a crash
    // undoes is sent again, which the hub takes as a repeat (one sample per device, point, time).
    const ids = batch.map((b) => b.id);
    const bytes = batch.reduce((n, b) => n + b.bytes + 1, 0);
    for (const id of ids) this.acking.add(id);
    this.ackingBytes += bytes;
    this.ackChain = this.ackChain
      .then(() => this.buffer.ack(ids))
      .catch((err: unknown) => this.log.error({ err }, 'could not remove sent readings from the buffer; they will be sent again'))
      .finally(() => {
        for (const id of ids) this.acking.delete(id);
        this.ackingBytes -= bytes;
      });
    return true;
  }

  /** The head's readings not being removed, at most `limit` and BATCH_BYTES of JSON array. */
  private unacked(head: readonly BufferedReading[], limit: number): BufferedReading[] {
    const out: BufferedReading[] = [];
    let used = 2;
    for (const b of head) {
      if (this.acking.has(b.id)) continue;
      if (out.length >= limit || used + b.bytes + 1 > BATCH_BYTES) break;
      out.push(b);
      used += b.bytes + 1;
    }
    return out;
  }

  private async keepSkipped(batch: readonly BufferedReading[], skipped: SkippedEntry[]): Promise<void> {
    const entries: RefusedReading[] = [];
    for (const s of skipped) {
      const r = batch[s.index]!.reading;
      const values = Object.fromEntries(
        s.measurepoints.filter((id) => Object.hasOwn(r.measurepoints, id)).map((id) => [id, r.measurepoints[id]!]),
      );
      this.stats.skippedByHub += s.measurepoints.length;
      entries.push({
        at: Date.now(),
        productKey: r.productKey,
        deviceKey: r.deviceKey,
        time: r.time,
        measurepoints: values,
        code: 200,
        reason: s.reasons.join('; '),
      });
    }
    this.log.error(
      { points: entries.flatMap((e) => Object.keys(e.measurepoints).map((p) => `${e.deviceKey}.${p}`)), keptIn: this.refused.file },
      'hub skipped measurepoints its thing model refuses: kept aside',
    );
    await this.keep(entries);
  }

  private async keep(entries: RefusedReading[]): Promise<void> {
    try {
      await this.refused.keep(entries);
    } catch (err) {
      this.log.error({ err, readings: entries.length }, 'could not keep refused readings aside');
    }
  }

  private nextAppend(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Waits `ms`, or less when the uplink goes down or `enough()` holds after an append. */
  private sleep(ms: number, enough: () => boolean = () => false): Promise<void> {
    return new Promise((resolve) => {
      if (!this.up) return resolve();
      const onWake = () => {
        if (!this.up || enough()) finish();
      };
      const finish = () => {
        clearTimeout(timer);
        if (this.wake === onWake) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wake = onWake;
    });
  }

  private toBuffer(readings: Reading[]): void {
    this.spill.push(...readings);
    if (this.appending) return;
    this.appending = true;
    this.appendChain = this.appendChain.then(async () => {
      while (this.spill.length > 0) {
        const batch = this.spill;
        this.spill = [];
        try {
          const r = await this.buffer.append(batch);
          this.stats.buffered += batch.length - r.refused;
          this.onDurable?.(batch.slice(0, batch.length - r.refused));
          if (r.refused || r.dropped) this.log.warn({ refused: r.refused, dropped: r.dropped }, 'buffer limits dropped readings');
        } catch (err) {
          this.log.error({ err }, 'buffer append failed');
        }
      }
      this.appending = false;
      this.wake?.();
    });
  }
}
