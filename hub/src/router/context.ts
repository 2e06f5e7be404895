import type { InboundRequest, ParsedTopic } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { DeviceIdentity, DeviceSession, SessionRegistry } from '../sessions/sessions.js';
import type { Registry } from '../registry/registry.js';
import type { Ingest } from '../telemetry/ingest.js';
import type { HubMetrics } from '../metrics.js';

/** Limits of the MQTT side that handlers enforce. */
export interface RouterLimits {
  /** Online sub-devices per gateway session (EnOS: 200, docs/ENOS-PROTOCOL.md §5). */
  maxOnlineSubDevices: number;
  /** Entries per `thing.device.register` request (Java SDK caps at 1000). */
  maxRegisterBatch: number;
  /** Attributes or tags per request (EnOS: 200). */
  maxAttributesPerRequest: number;
}

/** What a handler may use. */
export interface RouterDeps {
  registry: Registry;
  sessions: SessionRegistry;
  ingest: Ingest;
  limits: RouterLimits;
  log: Logger;
  /** Marks a sub-device online through a gateway session, or offline. Owned by the broker. */
  lifecycle: SubDeviceLifecycle;
  clock: () => number;
  metrics?: HubMetrics;
}

export interface SubDeviceLifecycle {
  /** Logs a sub-device in through a gateway session and marks it online. */
  login(gateway: DeviceSession, sub: DeviceIdentity): Promise<void>;
  /** Logs a sub-device out (if logged in anywhere) and marks it offline. */
  logout(productKey: string, deviceKey: string): Promise<void>;
}

/** One upstream request, after the ACL, the payload checks and the method check passed. */
export interface UpstreamRequest {
  /** The connection it arrived on (a device, or a gateway acting for its sub-devices). */
  session: DeviceSession;
  topic: ParsedTopic;
  /** The device the topic is about: the session's own, or a sub-device logged in through it. */
  target: DeviceIdentity;
  request: InboundRequest;
}

/** What the router replies with on `topic_reply`. Failures are thrown as EnosError instead. */
export interface HandlerResult {
  code?: number;
  data?: unknown;
  message?: string;
}

export type UpstreamHandler = (req: UpstreamRequest, deps: RouterDeps) => Promise<HandlerResult>;
