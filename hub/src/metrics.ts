import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The hub's Prometheus metrics, one registry per hub (several hubs can live in one test process).
 * Label values come from small closed sets (topic kinds, codes, statuses), never from device ids.
 */
export class HubMetrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly messagesIn: Counter<'kind'>;
  readonly messagesOut: Counter<'kind'>;
  readonly replies: Counter<'code'>;
  readonly refusedConnects: Counter<'return_code'>;
  readonly aclRefusals: Counter<'decision'>;
  readonly commandOutcomes: Counter<'status'>;
  readonly commandQueueDepth: Gauge;
  readonly httpResponses: Counter<'status_class'>;
  readonly connectionsClosed: Counter<'reason' | 'listener'>;
  /**
   * How long the telemetry store takes to make a group of posts durable (append-group.ts): what a
   * post's acknowledgement and its stream event wait for (docs/BENCHMARKS.md, "Cluster and
   * application stream"). One observation per group, not per post.
   */
  readonly telemetryAppend: Histogram;

  private readonly messagesInByKind = new Tally();
  private readonly repliesByCode = new Tally();
  private readonly responsesByClass = new Tally();

  /**
   * Counts one PUBLISH in of a topic kind. Called per message, so it adds to a plain tally that the
   * counter takes over when scraped: `inc({ kind })` hashes its label object on every call, also
   * through `labels()` (docs/BENCHMARKS.md, "MQTT fan-in: where the time goes").
   */
  messageIn(kind: string): void {
    this.messagesInByKind.add(kind);
  }

  /** Counts one reply by code, like messageIn. */
  reply(code: number): void {
    this.repliesByCode.add(String(code));
  }

  /** Counts one REST response by status class (2xx, 4xx, …), like messageIn: called per request. */
  httpResponse(statusCode: number): void {
    this.responsesByClass.add(STATUS_CLASSES[Math.floor(statusCode / 100)] ?? 'other');
  }

  constructor(sources: { connections: () => number; queueDepth: () => Promise<number> }) {
    const registers = [this.registry];
    // GC pauses in steps fine enough to tell a pause that sets a latency tail (docs/BENCHMARKS.md).
    collectDefaultMetrics({
      register: this.registry,
      prefix: 'edgehub_',
      gcDurationBuckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 1],
    });
    this.connections = new Gauge({
      name: 'edgehub_mqtt_connections',
      help: 'Authenticated device connections on this node',
      registers,
      collect() {
        this.set(sources.connections());
      },
    });
    this.messagesIn = new Counter({
      name: 'edgehub_mqtt_messages_in_total',
      help: 'PUBLISH packets received from devices, by topic kind',
      labelNames: ['kind'],
      registers,
      collect: () => this.messagesInByKind.drainInto((kind, n) => this.messagesIn.inc({ kind }, n)),
    });
    this.messagesOut = new Counter({
      name: 'edgehub_mqtt_messages_out_total',
      help: 'Messages pushed to devices, by topic kind',
      labelNames: ['kind'],
      registers,
    });
    this.replies = new Counter({
      name: 'edgehub_mqtt_replies_total',
      help: 'Replies to device requests, by code',
      labelNames: ['code'],
      registers,
      collect: () => this.repliesByCode.drainInto((code, n) => this.replies.inc({ code }, n)),
    });
    this.refusedConnects = new Counter({
      name: 'edgehub_mqtt_refused_connects_total',
      help: 'CONNECTs refused, by CONNACK return code',
      labelNames: ['return_code'],
      registers,
    });
    this.aclRefusals = new Counter({
      name: 'edgehub_mqtt_acl_refusals_total',
      help: 'PUBLISH or SUBSCRIBE refused by the topic ACL',
      labelNames: ['decision'],
      registers,
    });
    this.commandOutcomes = new Counter({
      name: 'edgehub_commands_total',
      help: 'Commands that reached a final or intermediate status',
      labelNames: ['status'],
      registers,
    });
    this.commandQueueDepth = new Gauge({
      name: 'edgehub_command_queue_depth',
      help: 'Cached commands waiting or in flight (all devices)',
      registers,
      async collect() {
        this.set(await sources.queueDepth());
      },
    });
    this.connectionsClosed = new Counter({
      name: 'edgehub_mqtt_connections_closed_total',
      help: 'MQTT connections the broker ended before or outside the protocol (cap, connect deadline, frame guard), by reason and listener',
      labelNames: ['reason', 'listener'],
      registers,
    });
    this.telemetryAppend = new Histogram({
      name: 'edgehub_telemetry_append_seconds',
      help: 'Telemetry store appends of grouped device posts, from the call to the durable commit',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.httpResponses = new Counter({
      name: 'edgehub_http_responses_total',
      help: 'REST responses by status class',
      labelNames: ['status_class'],
      registers,
      collect: () => this.responsesByClass.drainInto((statusClass, n) => this.httpResponses.inc({ status_class: statusClass }, n)),
    });
  }
}

/** Per-label counts kept as plain numbers between scrapes. */
class Tally {
  private readonly counts = new Map<string, { n: number }>();

  add(label: string): void {
    const c = this.counts.get(label);
    if (c) c.n++;
    else this.counts.set(label, { n: 1 });
  }

  /** Hands every count gathered since the last call to `inc`, and starts over from zero. */
  drainInto(inc: (label: string, n: number) => void): void {
    for (const [label, c] of this.counts) {
      if (c.n === 0) continue;
      inc(label, c.n);
      c.n = 0;
    }
  }
}

const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];
