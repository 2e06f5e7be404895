import { streamTopics } from '@edgehub/shared';
import type { Aedes, AedesPublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { StreamEvent, StreamSink } from '../telemetry/stream-events.js';

/**
 * The application stream: every StreamEvent is published into the broker's own fan-out under
 * `org/{orgId}/…` (shared/src/stream-topics.ts), where MQTT applications and SSE clients of that
 * organization subscribe. With Redis this fan-out is cluster-wide, on exact channels per device.
 */
export class StreamHub implements StreamSink {
  private readonly hasListener: ((topic: string) => boolean) | undefined;

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
    this.aedes.publish({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }, (err?: Error) => {
      if (err) this.log.warn({ err, topic }, 'stream publish failed');
    });
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

/**
 * Whether anything in this process subscribed to a topic: aedes' in-process emitter (mqemitter)
 * keeps every subscription (MQTT applications' and the SSE consumers', both through
 * `aedes.subscribe`) in one matcher. Undefined when the emitter is not that one: then publish always.
 */
function localListeners(aedes: Aedes): ((topic: string) => boolean) | undefined {
  const matcher = (aedes as { mq?: { _matcher?: { match?: unknown } } }).mq?._matcher;
  if (!matcher || typeof matcher.match !== 'function') return undefined;
  const m = matcher as { match(topic: string): unknown[] };
  return (topic) => m.match(topic).length > 0;
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
