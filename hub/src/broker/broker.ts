import { randomUUID } from 'node:crypto';
import { keepClientPublishesLocal } from '@edgehub/shared';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { ReplayLedger } from '../auth/replay-ledger.js';
import type { HubMetrics } from '../metrics.js';
import type { Registry } from '../registry/registry.js';
import type { RouterLimits, UpstreamHandler } from '../router/context.js';
import { UpstreamRouter } from '../router/router.js';
import { SessionRegistry } from '../sessions/sessions.js';
import type { Ingest } from '../telemetry/ingest.js';
import type { ActivationConfig } from './activation.js';
import { watchAdminChanges } from './admin-changes.js';
import type { ClientCertificatePolicy } from './client-certificates.js';
import type { CloseReason, ConnectionLimits } from './connection-limits.js';
import { Downstream } from './downstream.js';
import { drainSessions, PublishesInFlight } from './drain.js';
import { authenticateHook } from './hooks/authenticate.js';
import { authorizePublishHook } from './hooks/authorize-publish.js';
import { authorizeSubscribeHook } from './hooks/authorize-subscribe.js';
import { onConnackSent } from './hooks/connack-sent.js';
import type { HookContext } from './hooks/context.js';
import { preConnectHook } from './hooks/pre-connect.js';
import { DeviceLifecycle } from './lifecycle.js';
import { openListeners, type Listeners } from './listeners.js';
import { trustedProxies } from './proxy-protocol.js';
import type { ServerCertificates } from './server-certificate.js';
import { ConnectThrottle, type Throttle, type ThrottleConfig } from './throttle.js';

export interface MqttConfig {
  host: string;
  port: number;
  tlsPort: number;
  wsPort: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Names and addresses the generated server certificate is valid for. */
  tlsHostnames: string[];
  /** Load balancers (addresses, CIDR ranges) whose connections start with a PROXY v2 header. */
  proxyProtocolFrom?: string[];
  throttle: ThrottleConfig;
  limits: RouterLimits;
  activation: ActivationConfig;
  /** Pre-authentication limits, the connection cap and keepalive of all three listeners. */
  connections: ConnectionLimits;
}

export interface BrokerDeps {
  registry: Registry;
  ingest: Ingest;
  log: Logger;
  config: MqttConfig;
  dataDir: string;
  handlers: Partial<Record<string, UpstreamHandler>>;
  clock: () => number;
  /** How far an application's login timestamp may be from the server clock. */
  appLoginWindowSeconds: number;
  /** Signatures already used by applications (shared with the token service): replays get CONNACK 5. */
  loginLedger: ReplayLedger;
  metrics?: HubMetrics;
  /**
   * Cluster mode: MQTT sessions (subscriptions, QoS 1 in flight) persist in Redis and the broker's
   * fan-out (the application stream) crosses nodes through it. Absent: everything in-process.
   */
  redisUrl?: string;
  /** The connection throttle; the in-process one unless the cluster provides a shared one. */
  throttle?: Throttle;
  /** Mutual TLS on the TLS listener, when the certificate service is there. */
  clientCertificates?: ClientCertificatePolicy;
  /**
   * The TLS listener's certificates (server-certificate.ts), opened by the caller: the hub begins
   * them early in its start, so that a first start makes their keys while it makes its CA's.
   */
  serverCertificates: ServerCertificates;
}

export interface Broker {
  aedes: Aedes;
  sessions: SessionRegistry;
  lifecycle: DeviceLifecycle;
  router: UpstreamRouter;
  downstream: Downstream;
  /** Starts the TCP, TLS and WebSocket listeners. */
  listen(): Promise<Listeners>;
  /**
   * Leaving the cluster: stop accepting, then disconnect the devices `perSecond` at a time (0: at
   * once) once their publishes in flight are acknowledged. Resolves with how many were connected.
   */
  drain(perSecond: number): Promise<number>;
  /** The CA file for clients of the TLS listener (`--cafile`): `tls/ca.crt`, the hub's root, when its CA issued the certificates. */
  tlsCertPath: string;
  /** The TLS listener's certificates and their re-issue. */
  serverCertificates: ServerCertificates;
  close(): Promise<void>;
}

/**
 * The MQTT broker: aedes with the hub's policy in its hooks (broker/hooks/: preConnect,
 * authenticate, authorizePublish, authorizeSubscribe, connackSent) and the device-facing state
 * (sessions, lifecycle, router).
 */
export async function createBroker(deps: BrokerDeps): Promise<Broker> {
  const { registry, log, config, clock } = deps;
  const sessions = new SessionRegistry();
  const lifecycle = new DeviceLifecycle(registry, sessions, log, clock);
  const router = upstreamRouter(deps, sessions, lifecycle);
  const unwatchAdminChanges = watchAdminChanges({ registry, sessions, lifecycle, log });
  const { serverCertificates } = deps;
  let listeners: Listeners | undefined;
  const ctx: HookContext = {
    deps,
    sessions,
    lifecycle,
    router,
    throttle: deps.throttle ?? new ConnectThrottle(config.throttle),
    publishesInFlight: new PublishesInFlight(),
    connects: new WeakMap(),
    accepted: new WeakMap(),
    apps: new WeakMap(),
    listeners: () => listeners,
  };
  const aedes = await createAedes(ctx);
  const unwatchRevocations = closeSessionsOnRevocation(deps, sessions);

  return {
    aedes,
    sessions,
    lifecycle,
    router,
    downstream: new Downstream(sessions, deps.metrics),
    tlsCertPath: serverCertificates.material.caPath,
    serverCertificates,
    async listen() {
      listeners = await openBrokerListeners(aedes, deps, serverCertificates);
      return listeners;
    },
    async drain(perSecond) {
      listeners?.stopAccepting();
      const n = await drainSessions(sessions, ctx.publishesInFlight, perSecond);
      await lifecycle.settled();
      return n;
    },
    async close() {
      serverCertificates.stop();
      unwatchAdminChanges();
      unwatchRevocations?.();
      await listeners?.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await lifecycle.settled();
    },
  };
}

/** aedes with the hub's hooks (broker/hooks/) and the session bookkeeping on its events. */
async function createAedes(ctx: HookContext): Promise<Aedes> {
  const { deps, sessions, lifecycle } = ctx;
  const { config, log } = deps;
  const aedes = await Aedes.createBroker({
    // The Redis backends load only in a cluster (docs/BENCHMARKS.md, start-up).
    ...(deps.redisUrl ? (await import('./redis-backends.js')).redisBrokerBackends(deps.redisUrl, log) : {}),
    id: `edgehub-${randomUUID()}`,
    // EnOS ClientIds are `cid|securemode=…,signmethod=…,timestamp=…|` — far beyond MQTT 3.1's 23.
    maxClientsIdLength: 1024,
    // The deadline from accept (listeners) covers this one too; aedes' own starts later, at handover.
    connectTimeout: config.connections.connectTimeoutMs,
    // A frozen subscriber must not stall delivery to everyone (docs/PERFORMANCE-NOTES.md §2.1).
    drainTimeout: 15_000,
    preConnect: preConnectHook(ctx),
    authenticate: authenticateHook(ctx),
    authorizePublish: authorizePublishHook(ctx),
    authorizeSubscribe: authorizeSubscribeHook(ctx),
  });
  keepClientPublishesLocal(aedes);
  aedes.on('connackSent', onConnackSent(ctx));
  aedes.on('clientDisconnect', (client) => {
    const session = sessions.ofClient(client);
    if (session && session.client === client) lifecycle.disconnected(session);
  });
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error'));
  return aedes;
}

/** The router of what devices publish, over this broker's sessions. */
function upstreamRouter(deps: BrokerDeps, sessions: SessionRegistry, lifecycle: DeviceLifecycle): UpstreamRouter {
  const { registry, log, config, clock } = deps;
  return new UpstreamRouter(
    {
      registry,
      sessions,
      ingest: deps.ingest,
      limits: config.limits,
      log,
      lifecycle,
      clock,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
    deps.handlers,
  );
}

/** Opens the TCP, TLS and WebSocket listeners, and re-issues their certificates when due. */
async function openBrokerListeners(aedes: Aedes, deps: BrokerDeps, serverCertificates: ServerCertificates): Promise<Listeners> {
  const { config, log } = deps;
  const proxyProtocol = config.proxyProtocolFrom?.length
    ? {
        trusted: trustedProxies(config.proxyProtocolFrom),
        timeoutMs: config.connections.connectTimeoutMs,
        onRefused: (reason: string, from: string | undefined) => log.warn({ from, reason }, 'connection from a load balancer refused'),
      }
    : undefined;
  const listeners = await openListeners(aedes, {
    host: config.host,
    port: config.port,
    tlsPort: config.tlsPort,
    wsPort: config.wsPort,
    tls: serverCertificates.material,
    limits: config.connections,
    onClosed: connectionClosedLog(deps),
    ...(deps.clientCertificates ? { clientCertificates: deps.clientCertificates } : {}),
    ...(proxyProtocol ? { proxyProtocol } : {}),
  });
  serverCertificates.start((material) => {
    listeners.setServerCertificates(material);
    log.info({ notAfter: material.notAfter.toISOString() }, 'TLS server certificates re-issued');
  });
  return listeners;
}

/** Connections the door policy ended: counted by reason; the cap is also logged (at most every 10 s). */
function connectionClosedLog({ metrics, log, config }: BrokerDeps): (reason: CloseReason, listener: string) => void {
  let lastCapWarning = 0;
  return (reason, listener) => {
    metrics?.connectionsClosed.inc({ reason, listener });
    if (reason !== 'max_connections') return log.debug({ reason, listener }, 'connection closed by the broker');
    const now = Date.now();
    if (now - lastCapWarning < 10_000) return;
    lastCapWarning = now;
    log.warn(
      { listener, maxConnections: config.connections.maxConnections },
      'connection cap reached: refusing new MQTT connections (HUB_MQTT_MAX_CONNECTIONS)',
    );
  };
}

/** A revoked certificate also ends the sessions that were opened with it. */
function closeSessionsOnRevocation({ clientCertificates, log }: BrokerDeps, sessions: SessionRegistry): (() => void) | undefined {
  return clientCertificates?.onRevoked((serialHex) => {
    for (const s of sessions.all()) {
      if (s.certificateSerial === serialHex) {
        log.info({ assetId: s.device.assetId }, 'client certificate revoked: closing the session');
        s.client.close();
      }
    }
  });
}
