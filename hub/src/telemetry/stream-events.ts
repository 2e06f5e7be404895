/**
 * What applications see of their organization's devices in real time (over MQTT and SSE): device
 * data as ingested and device lifecycle changes. Org-scoped: an event belongs to exactly one org.
 */
export type StreamEvent =
  | {
      type: 'measurepoints';
      orgId: string;
      assetId: string;
      productKey: string;
      deviceKey: string;
      time: number;
      resume: boolean;
      measurepoints: Record<string, { value: unknown; quality?: number }>;
    }
  | {
      type: 'event';
      orgId: string;
      assetId: string;
      productKey: string;
      deviceKey: string;
      time: number;
      eventId: string;
      values: Record<string, unknown>;
    }
  | {
      type: 'lifecycle';
      orgId: string;
      assetId: string;
      productKey: string;
      deviceKey: string;
      time: number;
      status: 'online' | 'offline' | 'activated';
    }
  /** An alert opened, acknowledged or closed (docs/PROTOCOL.md §7.4). */
  | {
      type: 'alert';
      orgId: string;
      assetId: string;
      productKey: string;
      deviceKey: string;
      time: number;
      change: 'opened' | 'acknowledged' | 'closed';
      alert: object;
    };

/** Where ingestion and the lifecycle hand stream events; the stream fans them out to applications. */
export interface StreamSink {
  publish(event: StreamEvent): void;
}

export const noStream: StreamSink = { publish: () => undefined };

/** A sink whose target is set later: ingestion is built before the stream it feeds. */
export class DeferredSink implements StreamSink {
  target: StreamSink = noStream;
  publish(event: StreamEvent): void {
    this.target.publish(event);
  }
}
