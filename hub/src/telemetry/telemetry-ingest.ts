/**
 * Ingestion into the telemetry store and the application stream: the `Ingest` the MQTT router
 * hands accepted data to. A call resolves once the store has made the data durable, so the router
 * acknowledges (the `_reply`, the PUBACK) only after that; the stream hears of the data only
 * then too, so an application never sees a value that history will not have.
 */
import { EnosError, codes } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { DeviceIdentity } from '../sessions/sessions.js';
import type { DeviceLatest, EventOptions, Ingest, IngestOptions, MeasurepointEntry, MeasurepointSample } from './ingest.js';
import { MAX_ID_LENGTH, MAX_TIME, type SampleInput, type TelemetryStore } from './store/port.js';
import { noStream, type StreamEvent, type StreamSink } from './stream-events.js';
import { AppendGroups, type AppendGroupOptions } from './append-group.js';

/**
 * The event id under which an edge's `connection.state.post` reports are kept (latest and
 * history). It holds a '/', which no event id from a topic segment can, so it never collides.
 */
export const CONNECTION_STATE_EVENT = 'connection/state';

type Log = Pick<Logger, 'error' | 'warn' | 'info'>;

export class TelemetryIngest implements Ingest {
  /** Single posts of one event-loop turn share an append (append-group.ts). */
  private readonly groups: AppendGroups;

  constructor(
    readonly store: TelemetryStore,
    private readonly stream: StreamSink = noStream,
    private readonly log?: Log,
    /** How single posts are grouped into appends (append-group.ts). */
    groupOptions: AppendGroupOptions = {},
  ) {
    this.groups = new AppendGroups(store, groupOptions);
  }

  async measurepoints(
    device: DeviceIdentity,
    points: Record<string, MeasurepointSample>,
    time: number,
    { resume, hubTime }: IngestOptions,
  ): Promise<void> {
    const samples: SampleInput[] = [];
    toSamples(samples, { device, points, time, hubTime: hubTime === true }, resume);
    if (samples.length === 0) return;
    await this.groups.append(samples);
    this.publish(measurepointsEvent(device, time, resume, points));
  }

  /**
   * A batch request is one append: one transaction and one commit for all its entries, however
   * many (docs/PERFORMANCE-NOTES.md, "Telemetry store"). The stream hears each entry once the
   * whole batch is durable.
   */
  async measurepointBatch(entries: readonly MeasurepointEntry[], { resume }: { resume: boolean }): Promise<void> {
    const samples: SampleInput[] = [];
    for (const entry of entries) toSamples(samples, entry, resume);
    if (samples.length === 0) return;
    await this.store.appendMeasurepoints(samples);
    for (const { device, points, time } of entries) {
      if (Object.keys(points).length > 0) this.publish(measurepointsEvent(device, time, resume, points));
    }
  }

  async event(
    device: DeviceIdentity,
    eventId: string,
    values: Record<string, unknown>,
    time: number,
    options: EventOptions = {},
  ): Promise<void> {
    checkTime(time);
    checkId(eventId, 'event');
    await this.store.appendEvents([
      { assetId: device.assetId, orgId: device.orgId, eventId, values, time, ...(options.hubTime ? { hubTime: true } : {}) },
    ]);
    this.publish({ type: 'event', ...who(device), time, eventId, values });
  }

  /** Kept as the device's `connection/state` event: the latest report and the history of reports. */
  async connectionState(device: DeviceIdentity, state: unknown, time: number): Promise<void> {
    checkTime(time);
    await this.store.appendEvents([
      { assetId: device.assetId, orgId: device.orgId, eventId: CONNECTION_STATE_EVENT, values: { state }, time },
    ]);
  }

  /** Everything latest of one device, or undefined when it never sent anything. */
  async latest(assetId: string): Promise<DeviceLatest | undefined> {
    const [points, events] = await Promise.all([this.store.latest([assetId]), this.store.latestEvents(assetId)]);
    const measurepoints = points.get(assetId) ?? {};
    const { [CONNECTION_STATE_EVENT]: connection, ...rest } = events;
    if (Object.keys(measurepoints).length === 0 && Object.keys(rest).length === 0 && !connection) return undefined;
    const out: DeviceLatest = { measurepoints, events: rest };
    if (connection) out.connectionState = { state: connection.values['state'], time: connection.time };
    return out;
  }

  private publish(event: StreamEvent): void {
    // The data is stored: a failing stream must not fail the device's request (it would resend).
    try {
      this.stream.publish(event);
    } catch (err) {
      this.log?.error({ err, assetId: event.assetId, type: event.type }, 'stream publish failed');
    }
  }
}

/** Checks one entry and adds its readings, as store samples, to `out`. */
function toSamples(out: SampleInput[], { device, points, time, hubTime }: MeasurepointEntry, resume: boolean): void {
  checkTime(time);
  for (const pointId of Object.keys(points)) {
    const s = points[pointId]!;
    checkId(pointId, 'measurepoint');
    const sample: SampleInput = { assetId: device.assetId, orgId: device.orgId, pointId, value: s.value, time, resume };
    if (s.quality !== undefined) sample.quality = s.quality;
    if (hubTime) sample.hubTime = true;
    out.push(sample);
  }
}

/**
 * The stream event of a post's measurepoints, its fields written out rather than spread from
 * `who()`: it is built once per post (docs/BENCHMARKS.md, "MQTT fan-in: the third pass").
 */
function measurepointsEvent(
  d: DeviceIdentity,
  time: number,
  resume: boolean,
  measurepoints: Record<string, MeasurepointSample>,
): StreamEvent {
  return {
    type: 'measurepoints',
    orgId: d.orgId,
    assetId: d.assetId,
    productKey: d.productKey,
    deviceKey: d.deviceKey,
    time,
    resume,
    measurepoints,
  };
}

const who = (d: DeviceIdentity) => ({ orgId: d.orgId, assetId: d.assetId, productKey: d.productKey, deviceKey: d.deviceKey });

/** What the store cannot keep is a model error for the device (1204), not an internal one. */
function checkTime(time: number): void {
  if (!Number.isSafeInteger(time) || time < 0 || time > MAX_TIME) {
    throw new EnosError(codes.modelValidationFailed, `time ${time} is outside 0..${MAX_TIME} epoch milliseconds`);
  }
}

function checkId(id: string, what: string): void {
  if (id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new EnosError(codes.modelValidationFailed, `${what} id must be 1 to ${MAX_ID_LENGTH} characters long`);
  }
}

export interface RetentionOptions {
  /** History older than this is deleted. */
  retentionMs: number;
  /** How often the job runs; the first run is right after start. */
  intervalMs: number;
  clock?: () => number;
  log?: Log;
}

export interface RetentionJob {
  /** Prunes now (or joins the run in progress); resolves with the number of records deleted. */
  runOnce(): Promise<number>;
  /** Stops the timer and waits for a run in progress, so the store can be closed after it. */
  stop(): Promise<void>;
}

/** Deletes history older than the retention every interval. Never two runs at once; never keeps the process alive. */
export function startRetention(store: TelemetryStore, options: RetentionOptions): RetentionJob {
  const clock = options.clock ?? Date.now;
  let running: Promise<number> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const runOnce = (): Promise<number> => {
    running ??= (async () => {
      const before = Math.max(0, clock() - options.retentionMs);
      const removed = await store.prune(before);
      if (removed > 0) options.log?.info({ removed, before }, 'telemetry retention pruned history');
      return removed;
    })().finally(() => (running = undefined));
    return running;
  };

  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => options.log?.error({ err }, 'telemetry retention failed'))
        .finally(() => schedule(options.intervalMs));
    }, delay);
    timer.unref();
  };
  schedule(0);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
