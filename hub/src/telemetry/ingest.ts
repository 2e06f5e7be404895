import type { DeviceIdentity } from '../broker/sessions.js';

/** One measurepoint reading as accepted: its value and, where the model has it, a quality 0–9. */
export interface MeasurepointSample {
  value: unknown;
  quality?: number;
}

export interface IngestOptions {
  /** Offline/historical data (`thing.measurepoint.resume`): stored, but not the "latest" news. */
  resume: boolean;
}

/**
 * The one ingestion interface the MQTT router hands accepted data to. This issue keeps the latest
 * values in memory (LatestValues); the telemetry store and the application stream plug in here.
 * A call resolves once the data is accepted by the sink: the router acknowledges after it.
 */
export interface Ingest {
  measurepoints(device: DeviceIdentity, points: Record<string, MeasurepointSample>, time: number, options: IngestOptions): Promise<void>;
  event(device: DeviceIdentity, eventId: string, values: Record<string, unknown>, time: number): Promise<void>;
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

/** Latest values per device, in memory. A resumed (older) sample never replaces a newer one. */
export class LatestValues implements Ingest {
  private readonly byAsset = new Map<string, DeviceLatest>();

  latest(assetId: string): DeviceLatest | undefined {
    return this.byAsset.get(assetId);
  }

  async measurepoints(device: DeviceIdentity, points: Record<string, MeasurepointSample>, time: number): Promise<void> {
    const latest = this.entry(device.assetId);
    for (const [id, sample] of Object.entries(points)) {
      const current = latest.measurepoints[id];
      if (current && current.time > time) continue;
      const v: TimedValue = { value: sample.value, time };
      if (sample.quality !== undefined) v.quality = sample.quality;
      latest.measurepoints[id] = v;
    }
  }

  async event(device: DeviceIdentity, eventId: string, values: Record<string, unknown>, time: number): Promise<void> {
    const latest = this.entry(device.assetId);
    const current = latest.events[eventId];
    if (!current || current.time <= time) latest.events[eventId] = { values, time };
  }

  async connectionState(device: DeviceIdentity, state: unknown, time: number): Promise<void> {
    this.entry(device.assetId).connectionState = { state, time };
  }

  private entry(assetId: string): DeviceLatest {
    let e = this.byAsset.get(assetId);
    if (!e) {
      e = { measurepoints: {}, events: {} };
      this.byAsset.set(assetId, e);
    }
    return e;
  }
}
