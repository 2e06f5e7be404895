import type { DeviceIdentity } from '../sessions/sessions.js';

/** One measurepoint reading as accepted: its value and, where the model has it, a quality 0–9. */
export interface MeasurepointSample {
  value: unknown;
  quality?: number;
}

export interface IngestOptions {
  /** Offline/historical data (`thing.measurepoint.resume`): stored, but not the "latest" news. */
  resume: boolean;
  /**
   * The device sent no time and the hub stamped its own: the data is kept beside anything else of
   * the same millisecond instead of replacing it (docs/PROTOCOL.md §5.5, "Telemetry: timestamps").
   */
  hubTime?: boolean;
}

/** One entry of a `post/batch` or `resume/batch` request, as accepted by the router. */
export interface MeasurepointEntry {
  device: DeviceIdentity;
  points: Record<string, MeasurepointSample>;
  time: number;
  /** As IngestOptions.hubTime. */
  hubTime?: boolean;
}

export interface EventOptions {
  /** As IngestOptions.hubTime. */
  hubTime?: boolean;
}

/**
 * The one ingestion interface the MQTT router hands accepted data to (TelemetryIngest: the
 * telemetry store, then the application stream).
 * A call resolves once the data is accepted by the sink: the router acknowledges after it.
 */
export interface Ingest {
  measurepoints(device: DeviceIdentity, points: Record<string, MeasurepointSample>, time: number, options: IngestOptions): Promise<void>;
  /**
   * A whole batch request in one durable write (all or nothing), resolving once all of it is
   * durable. Sinks without it get the entries one by one through `measurepoints`.
   */
  measurepointBatch?(entries: readonly MeasurepointEntry[], options: { resume: boolean }): Promise<void>;
  event(device: DeviceIdentity, eventId: string, values: Record<string, unknown>, time: number, options?: EventOptions): Promise<void>;
  /** Southbound node states reported by an edge (`connection.state.post`). */
  connectionState?(device: DeviceIdentity, state: unknown, time: number): Promise<void>;
}

export interface TimedValue {
  value: unknown;
  quality?: number;
  time: number;
}

export interface DeviceLatest {
  measurepoints: Record<string, TimedValue>;
  events: Record<string, { values: Record<string, unknown>; time: number }>;
  connectionState?: { state: unknown; time: number };
}
