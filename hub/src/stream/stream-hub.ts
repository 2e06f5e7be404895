import { streamTopics } from '@edgehub/shared';
import type { Aedes, AedesPublishPacket, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { StreamEvent, StreamSink } from '../telemetry/stream-events.js';

/**
 * The application stream: every StreamEvent is published into the broker's own fan-out under
 * `org/{orgId}/…` (shared/src/stream-topics.ts), where MQTT applications and SSE clients of that
 * organization subscribe. With Redis this fan-out is cluster-wide, on exact channels per device.
 */
/**
 * Stream events handed to the broker's fan-out at a time. aedes' in-process emitter (mqemitter)
 * queues what exceeds its own concurrency (100) and, when queued events turn out to have no
 * subscriber (the one application left meanwhile), completes them one inside the other: a backlog
 * of some ten thousand events then overflowed the call stack and ended the process. Kept below that
 * concurrency, the emitter never queues; the backlog waits here, in a plain array.
 */
const IN_FLIGHT = 64;
/** Events waiting beyond this are dropped (the stream is QoS 0, at most once), counted and logged. */
const MAX_BACKLOG = 200_000;

export class StreamHub implements StreamSink {
  private readonly hasListener: ((topic: string) => boolean) | undefined;
  private readonly backlog = new Backlog<PublishPacket>();
  private inFlight = 0;
  private draining = false;
  private dropped = 0;
  private readonly settled = (err?: Error): void => {
    this.inFlight--;
    if (err) this.log.warn({ err }, 'stream publish failed');
    if (this.backlog.length > 0) this.drain();
  };

  /**
   * `localFanOut`: every subscriber of the broker's fan-out is in this process (no Redis emitter),
   * so an event nobody here subscribed to is not encoded and published at all. In a cluster a
   * subscriber may be on another node, and every event is published.
   */
  constructor(
    private readonly aedes: Aedes,
    private readonly log: Logger,
    options: { localFanOut?: boolean } = {},
  ) {
    this.hasListener = options.localFanOut ? localListeners(aedes) : undefined;
  }

  publish(event: StreamEvent): void {
    // On shutdown the last offline events come after the fan-out closed: nobody is listening.
    if (this.aedes.closed) return;
    const topic = topicOf(event);
    // Most devices' data has no live listener; encoding and publishing it for nobody was a visible
    // share of the per-message cost (docs/BENCHMARKS.md, "MQTT fan-in: where the time goes").
    if (this.hasListener && !this.hasListener(topic)) return;
    const payload = Buffer.from(JSON.stringify(event), 'utf8');
    if (this.backlog.length >= MAX_BACKLOG) {
      if (this.dropped++ % 10_000 === 0) this.log.warn({ dropped: this.dropped }, 'application stream backlog full: events dropped');
      return;
    }
    this.backlog.push({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
    this.drain();
  }

  /**
   * Hands waiting events to the fan-out, at most IN_FLIGHT at a time, in order. A loop, not
   * recursion: an event that completes at once (no subscriber) lets the next one go in the same loop.
   */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.inFlight < IN_FLIGHT && this.backlog.length > 0 && !this.aedes.closed) {
        this.inFlight++;
        this.aedes.publish(this.backlog.shift()!, this.settled);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Subscribes a server-side consumer (SSE) to a stream filter; returns the unsubscribe function. */
  async subscribe(filter: string, listener: (event: StreamEvent) => void): Promise<() => Promise<void>> {
    const deliver = (packet: AedesPublishPacket, cb: () => void) => {
      try {
        listener(JSON.parse(Buffer.from(packet.payload).toString('utf8')) as StreamEvent);
      } catch (err) {
        this.log.warn({ err }, 'undeliverable stream event');
      }
      cb();
    };
    await new Promise<void>((resolve) => this.aedes.subscribe(filter, deliver, () => resolve()));
    return () => new Promise<void>((resolve) => this.aedes.unsubscribe(filter, deliver, () => resolve()));
  }
}

/** Topics whose answer is remembered at most; past it the memo starts again (one per device and kind). */
const MEMO_LIMIT = 100_000;

/**
 * Whether anything in this process subscribed to a topic: aedes' in-process emitter (mqemitter)
 * keeps every subscription (MQTT applications' and the SSE consumers', both through
 * `aedes.subscribe`) in one matcher. Undefined when the emitter is not that one: then publish always.
 *
 * The answer is remembered per topic, so a device's posts do not walk the matcher each time
 * (docs/BENCHMARKS.md, "MQTT fan-in: the third pass"). Every change of the matcher (a subscription
 * added or removed, at the moment the matcher itself changes) forgets all answers: a new
 * subscriber is never missed.
 */
function localListeners(aedes: Aedes): ((topic: string) => boolean) | undefined {
  const matcher = (aedes as { mq?: { _matcher?: { match?: unknown; add?: unknown; remove?: unknown } } }).mq?._matcher;
  if (!matcher || typeof matcher.match !== 'function' || typeof matcher.add !== 'function' || typeof matcher.remove !== 'function') {
    return undefined;
  }
  const m = matcher as { match(topic: string): unknown[]; add(...args: unknown[]): unknown; remove(...args: unknown[]): unknown };
  const memo = new Map<string, boolean>();
  const add = m.add.bind(m);
  const remove = m.remove.bind(m);
  m.add = (...args: unknown[]) => {
    memo.clear();
    return add(...args);
  };
  m.remove = (...args: unknown[]) => {
    memo.clear();
    return remove(...args);
  };
  return (topic) => {
    let has = memo.get(topic);
    if (has === undefined) {
      has = m.match(topic).length > 0;
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(topic, has);
    }
    return has;
  };
}

export function topicOf(e: StreamEvent): string {
  switch (e.type) {
    case 'measurepoints':
      return streamTopics.measurepoints(e.orgId, e.productKey, e.deviceKey);
    case 'event':
      return streamTopics.event(e.orgId, e.productKey, e.deviceKey, e.eventId);
    case 'lifecycle':
      return streamTopics.lifecycle(e.orgId, e.productKey, e.deviceKey);
    case 'alert':
      return streamTopics.alerts(e.orgId, e.productKey, e.deviceKey);
  }
}

/** A first-in first-out queue whose shift does not move the rest (an array's does, once it is long). */
class Backlog<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
