import type { DeviceIdentity } from '../../src/sessions/sessions.js';
import type { DeviceLatest, Ingest, MeasurepointSample, TimedValue } from '../../src/telemetry/ingest.js';

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
