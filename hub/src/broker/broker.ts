import { randomUUID } from 'node:crypto';
import { parseClientId, streamTopics, topics } from '@edgehub/shared';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import type { Logger } from 'pino';
import type { ApplicationRecord } from '../registry/records.js';
import type { Registry } from '../registry/registry.js';
import { authenticateApp } from '../stream/app-auth.js';
import type { RouterLimits, UpstreamHandler } from '../router/context.js';
import { UpstreamRouter } from '../router/router.js';
import type { Ingest } from '../telemetry/ingest.js';
import type { HubMetrics } from '../metrics.js';
import { startActivation, type ActivationConfig } from './activation.js';
import { watchAdminChanges } from './admin-changes.js';
import { authenticateConnect, connack, type ConnectDecision } from './authenticate.js';
import { Downstream } from './downstream.js';
import { DeviceLifecycle } from './lifecycle.js';
import { openListeners, type Listeners } from './listeners.js';
import { trustedProxies } from './proxy-protocol.js';
import { drainSessions, PublishesInFlight } from './drain.js';
import { ServerCertificates, type ServerCertificateIssuer } from './server-certificate.js';
import { SessionRegistry, type DeviceSession } from '../sessions/sessions.js';
import { ConnectThrottle, type Throttle, type ThrottleConfig } from './throttle.js';
import type { CloseReason, ConnectionLimits } from './connection-limits.js';
import { appSessionId, deviceSessionId } from './session-identity.js';
import type { ReplayLedger } from '../auth/replay-ledger.js';
import { normalizeSerial, type ClientCertificatePolicy, type PresentedCertificate } from './client-certificates.js';
import type { TLSSocket } from 'node:tls';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';

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
  /** Issues the TLS listener's certificates from the hub's CA (server-certificate.ts); absent: self-signed. */
  serverCertificateIssuer?: ServerCertificateIssuer;
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
 * The MQTT broker: aedes with the hub's policy in its hooks (authenticate, authorizePublish,
 * authorizeSubscribe) and the device-facing state (sessions, lifecycle, router).
 */
/**
 * aedes' session persistence and fan-out over Redis. Their connections reconnect by themselves; an
 * error while Redis is away is logged (once per outage), never thrown: an unhandled 'error' event
 * would end the process, and a node must keep serving its connected devices without Redis.
 */
function redisBrokerBackends(redisUrl: string, log: Logger) {
  const persistenceConn = new Redis(redisUrl);
  persistenceConn.on('error', () => undefined);
  const mq = mqemitterRedis({ connectionString: redisUrl });
  // `state` is mqemitter-redis' own event emitter for connection events (not in its typings).
  const state = (mq as unknown as { state: import('node:events').EventEmitter }).state;
  let down = false;
  state.on('error', (err: Error) => {
    if (!down) log.warn({ err: err.message }, 'MQTT fan-out: Redis unreachable');
    down = true;
  });
  state.on('pubConnect', () => (down = false));
  return { persistence: aedesPersistenceRedis({ conn: persistenceConn }), mq };
}

export async function createBroker(deps: BrokerDeps): Promise<Broker> {
  const { registry, log, config, clock } = deps;
  const sessions = new SessionRegistry();
  const lifecycle = new DeviceLifecycle(registry, sessions, log, clock);
  const router = new UpstreamRouter(
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
  const throttle = deps.throttle ?? new ConnectThrottle(config.throttle);
  const clusterOptions = deps.redisUrl ? redisBrokerBackends(deps.redisUrl, log) : {};
  const unwatchAdminChanges = watchAdminChanges({ registry, sessions, lifecycle, log });
  const serverCertificates = await ServerCertificates.open({
    dataDir: deps.dataDir,
    hostnames: config.tlsHostnames,
    ...(config.tlsCertFile && config.tlsKeyFile ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile } : {}),
    ...(deps.serverCertificateIssuer ? { issuer: deps.serverCertificateIssuer } : {}),
    log: (m) => log.error(m),
  });
  let listeners: Listeners | undefined;

  const connects = new WeakMap<Client, { clientId: string; clean: boolean }>();
  const publishesInFlight = new PublishesInFlight();
  const accepted = new WeakMap<Client, Extract<ConnectDecision, { ok: true }>>();
  /** Applications connected to the stream (read-only, org-scoped), by connection. */
  const apps = new WeakMap<Client, ApplicationRecord>();

  const aedes = await Aedes.createBroker({
    ...clusterOptions,
    id: `edgehub-${randomUUID()}`,
    // EnOS ClientIds are `cid|securemode=…,signmethod=…,timestamp=…|` — far beyond MQTT 3.1's 23.
    maxClientsIdLength: 1024,
    // The deadline from accept (listeners) covers this one too; aedes' own starts later, at handover.
    connectTimeout: config.connections.connectTimeoutMs,
    // A frozen subscriber must not stall delivery to everyone (docs/PERFORMANCE-NOTES.md §2.1).
    drainTimeout: 15_000,

    preConnect(client, packet, done) {
      connects.set(client, { clientId: packet.clientId, clean: packet.clean !== false });
      // Wills are not kept: a device's disconnect is told by the hub's own `offline` lifecycle
      // event, and nothing a client publishes is routed as if the device had sent it (docs/PROTOCOL.md §5).
      delete packet.will;
      done(null, true);
    },

    authenticate(client, username, password, done) {
      const raw = connects.get(client) ?? { clientId: client.id, clean: true };
      const listener = listeners?.kindOf(client.conn) ?? 'tcp';
      const { ext } = parseClientId(raw.clientId);
      if (ext['authtype'] === 'app') {
        authenticateApp(
          { timestamp: ext['timestamp'], username, password },
          registry,
          clock(),
          deps.appLoginWindowSeconds,
          deps.loginLedger,
        ).then(
          (d) => {
            if (!d.ok) {
              log.info({ username, listener, returnCode: d.returnCode, reason: d.reason }, 'application connection refused');
              deps.metrics?.refusedConnects.inc({ return_code: String(d.returnCode) });
              return done(Object.assign(new Error(d.reason), { returnCode: d.returnCode }), false);
            }
            apps.set(client, d.app);
            client.id = appSessionId(d.app.appId, parseClientId(raw.clientId).clientId);
            done(null, true);
          },
          (err: unknown) => {
            log.error({ err }, 'application authentication failed unexpectedly');
            done(Object.assign(new Error('server unavailable'), { returnCode: connack.serverUnavailable }), false);
          },
        );
        return;
      }
      const certificate = presentedCertificate(client.conn);
      authenticateConnect(
        { clientId: raw.clientId, clean: raw.clean, username, password, listener, ...(certificate ? { certificate } : {}) },
        registry,
        throttle,
        clock(),
        deps.clientCertificates,
      ).then(
        (decision) => {
          if (!decision.ok) {
            log.info(
              { username, listener, remote: listeners?.remoteOf(client.conn), returnCode: decision.returnCode, reason: decision.reason },
              'connection refused',
            );
            deps.metrics?.refusedConnects.inc({ return_code: String(decision.returnCode) });
            return done(Object.assign(new Error(decision.reason), { returnCode: decision.returnCode }), false);
          }
          accepted.set(client, decision);
          // Sessions, persistent state and takeover are keyed on who authenticated, not on the
          // ClientId text: set before aedes registers the client (docs/SECURITY.md).
          client.id = deviceSessionId(decision.device.productKey, decision.device.deviceKey);
          done(null, true);
        },
        (err: unknown) => {
          log.error({ err, username }, 'authentication failed unexpectedly');
          done(Object.assign(new Error('server unavailable'), { returnCode: connack.serverUnavailable }), false);
        },
      );
    },

    authorizePublish(client, packet, done) {
      // Applications only read the stream: what they publish goes nowhere (see the publish seam below).
      if (client && apps.has(client)) return done(null);
      const session = client ? sessions.ofClient(client) : undefined;
      if (!session || session.client !== client) return done(null);
      // Devices never publish to each other: nothing a device sends is retained or forwarded.
      packet.retain = false;
      const qos = packet.qos === 0 ? 0 : 1;
      publishesInFlight.begin(client);
      router.route(session, packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload), qos).then(
        () => {
          done(null);
          publishesInFlight.end(client);
        },
        (err: unknown) => {
          log.error({ err, topic: packet.topic }, 'routing failed');
          done(null);
          publishesInFlight.end(client);
        },
      );
    },

    authorizeSubscribe(client, sub, done) {
      const app = apps.get(client);
      if (app) {
        // An application sees only organizations it is registered in (the tenant boundary).
        const orgId = streamTopics.orgOf(sub.topic);
        if (!orgId) return done(null, null);
        registry.applications.isRegistered(orgId, app.appId).then(
          (yes) => done(null, yes ? sub : null),
          () => done(null, null),
        );
        return;
      }
      const session = sessions.ofClient(client);
      const owner = topics.ownerOf(sub.topic);
      const refuse = () => {
        deps.metrics?.aclRefusals.inc({ decision: 'subscribe' });
        done(null, null);
      };
      if (!session || !owner) return refuse();
      if (router.authorize(session, owner)) return done(null, sub);
      // A gateway may subscribe ahead of login to the topics of sub-devices in its topology: the
      // Node SDK re-subscribes them before it logs the sub-devices back in (docs/ENOS-PROTOCOL.md §12).
      if (session.device.productType !== 'Gateway' || owner.namespace !== 'sys') return refuse();
      registry.devices.byTriple(owner.pk, owner.dk).then(
        (d) => (d && d.gatewayAssetId === session.device.assetId ? done(null, sub) : refuse()),
        () => refuse(),
      );
    },
  });

  // The one seam where aedes is wrapped (docs/ARCHITECTURE.md, MQTT flow step 5): a client's PUBLISH is routed by the hub
  // in authorizePublish and never fans out through the broker, so it is not stored, queued or
  // emitted. Publishes of the broker itself ($SYS, no client) pass unchanged.
  const forward = aedes.publish.bind(aedes) as unknown as (
    packet: AedesPublishPacket,
    client: Client | null,
    done?: (err?: Error) => void,
  ) => void;
  (aedes as unknown as { publish: typeof forward }).publish = (packet, client, done) => {
    if (client && typeof client === 'object') return done?.();
    forward(packet, client, done);
  };

  // The session exists from the moment the CONNACK is written: aedes hands over packets that
  // follow it at once (before 'clientReady'), and a client like mosquitto_pub publishes right away.
  aedes.on('connackSent', (connackPacket, client) => {
    if (connackPacket.returnCode !== 0) return;
    listeners?.authenticated(client.conn);
    if (apps.has(client)) return;
    const decision = accepted.get(client);
    if (!decision) return client.close();
    accepted.delete(client);
    const session: DeviceSession = {
      client,
      device: decision.device,
      listener: listeners?.kindOf(client.conn) ?? 'tcp',
      mutualTls: decision.certificateSerial !== undefined,
      ...(decision.certificateSerial ? { certificateSerial: decision.certificateSerial } : {}),
      compression: decision.compression,
      secureMode: decision.secureMode,
      connectedAt: clock(),
      subDevices: new Map(),
    };
    const previous = lifecycle.connected(session);
    // A second login with the same device triple takes over (Alibaba documents kick-old, §2.3).
    if (previous && previous.client !== client) {
      log.info({ assetId: session.device.assetId }, 'newer login of the same device: closing the older connection');
      previous.client.close();
    }
    if (decision.activation) startActivation(session, registry, router, config.activation, log);
  });

  // A revoked certificate also ends the sessions that were opened with it.
  const unwatchRevocations = deps.clientCertificates?.onRevoked((serialHex) => {
    for (const s of sessions.all()) {
      if (s.certificateSerial === serialHex) {
        log.info({ assetId: s.device.assetId }, 'client certificate revoked: closing the session');
        s.client.close();
      }
    }
  });

  // Connections the door policy ended: counted by reason; the cap is also logged (at most every 10 s).
  let lastCapWarning = 0;
  const connectionClosed = (reason: CloseReason, listener: string) => {
    deps.metrics?.connectionsClosed.inc({ reason, listener });
    if (reason !== 'max_connections') return log.debug({ reason, listener }, 'connection closed by the broker');
    const now = Date.now();
    if (now - lastCapWarning < 10_000) return;
    lastCapWarning = now;
    log.warn(
      { listener, maxConnections: config.connections.maxConnections },
      'connection cap reached: refusing new MQTT connections (HUB_MQTT_MAX_CONNECTIONS)',
    );
  };

  aedes.on('clientDisconnect', (client) => {
    const session = sessions.ofClient(client);
    if (session && session.client === client) lifecycle.disconnected(session);
  });
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error'));

  return {
    aedes,
    sessions,
    lifecycle,
    router,
    downstream: new Downstream(sessions, deps.metrics),
    tlsCertPath: serverCertificates.material.caPath,
    serverCertificates,
    async listen() {
      const proxyProtocol = config.proxyProtocolFrom?.length
        ? {
            trusted: trustedProxies(config.proxyProtocolFrom),
            timeoutMs: config.connections.connectTimeoutMs,
            onRefused: (reason: string, from: string | undefined) => log.warn({ from, reason }, 'connection from a load balancer refused'),
          }
        : undefined;
      listeners = await openListeners(aedes, {
        host: config.host,
        port: config.port,
        tlsPort: config.tlsPort,
        wsPort: config.wsPort,
        tls: serverCertificates.material,
        limits: config.connections,
        onClosed: connectionClosed,
        ...(deps.clientCertificates ? { clientCertificates: deps.clientCertificates } : {}),
        ...(proxyProtocol ? { proxyProtocol } : {}),
      });
      serverCertificates.start((material) => {
        listeners?.setServerCertificates(material);
        log.info({ notAfter: material.notAfter.toISOString() }, 'TLS server certificates re-issued');
      });
      return listeners;
    },
    async drain(perSecond) {
      listeners?.stopAccepting();
      const n = await drainSessions(sessions, publishesInFlight, perSecond);
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

/** The client certificate of a TLS connection, if one was presented. */
function presentedCertificate(conn: unknown): PresentedCertificate | undefined {
  const socket = conn as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.serialNumber) return undefined;
  return { serialHex: normalizeSerial(peer.serialNumber), trusted: socket.authorized === true };
}
