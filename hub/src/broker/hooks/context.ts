import type { AedesOptions, Client } from 'aedes';
import type { ApplicationRecord } from '../../registry/records.js';
import type { SessionRegistry } from '../../sessions/sessions.js';
import type { UpstreamRouter } from '../../router/router.js';
import type { BrokerDeps } from '../broker.js';
import type { ConnectDecision } from '../authenticate.js';
import type { PublishesInFlight } from '../drain.js';
import type { DeviceLifecycle } from '../lifecycle.js';
import type { Listeners } from '../listeners.js';
import type { Throttle } from '../throttle.js';

/** The hook signatures aedes takes (its typings do not export them by name). */
export type PreConnectHook = NonNullable<AedesOptions['preConnect']>;
export type AuthenticateHook = NonNullable<AedesOptions['authenticate']>;
export type AuthorizePublishHook = NonNullable<AedesOptions['authorizePublish']>;
export type AuthorizeSubscribeHook = NonNullable<AedesOptions['authorizeSubscribe']>;

/**
 * What the broker's hooks share, one per broker: its dependencies, the device-facing state, and
 * what one hook leaves for the next about a connection (the CONNECT, the authentication decision,
 * whether it is an application) in weak maps keyed by the aedes client (docs/ARCHITECTURE.md, "How
 * an MQTT message flows").
 */
export interface HookContext {
  deps: BrokerDeps;
  sessions: SessionRegistry;
  lifecycle: DeviceLifecycle;
  router: UpstreamRouter;
  throttle: Throttle;
  publishesInFlight: PublishesInFlight;
  /** ClientId and clean flag of each CONNECT, kept by preConnect for authenticate. */
  connects: WeakMap<Client, { clientId: string; clean: boolean }>;
  /** Devices authenticate accepted, until connackSent opens their session. */
  accepted: WeakMap<Client, Extract<ConnectDecision, { ok: true }>>;
  /** Applications connected to the stream (read-only, org-scoped), by connection. */
  apps: WeakMap<Client, ApplicationRecord>;
  /** The listeners, once the broker listens. */
  listeners(): Listeners | undefined;
}
