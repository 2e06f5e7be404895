import type { DeviceIdentity } from '../broker/sessions.js';
import type { Ingest, IngestOptions, MeasurepointSample } from './ingest.js';
import type { StreamSink } from './stream-events.js';

/** Hands accepted data to the application stream once the inner sink has accepted it. */
export class StreamingIngest implements Ingest {
  constructor(
    private readonly inner: Ingest,
    private readonly stream: StreamSink,
  ) {}

  async measurepoints(device: DeviceIdentity, points: Record<string, MeasurepointSample>, time: number, options: IngestOptions): Promise<void> {
    await this.inner.measurepoints(device, points, time, options);
    if (Object.keys(points).length === 0) return;
    this.stream.publish({ type: 'measurepoints', orgId: device.orgId, assetId: device.assetId, productKey: device.productKey, deviceKey: device.deviceKey, time, resume: options.resume, measurepoints: points });
  }

  async event(device: DeviceIdentity, eventId: string, values: Record<string, unknown>, time: number): Promise<void> {
    await this.inner.event(device, eventId, values, time);
    this.stream.publish({ type: 'event', orgId: device.orgId, assetId: device.assetId, productKey: device.productKey, deviceKey: device.deviceKey, time, eventId, values });
  }

  async connectionState(device: DeviceIdentity, state: unknown, time: number): Promise<void> {
    await this.inner.connectionState?.(device, state, time);
  }
}
