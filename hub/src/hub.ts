import { mkdir } from 'node:fs/promises';

import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { AddressInfo } from 'node:net';
import { buildApi } from './api/app.js';
import { createBroker, type Broker } from './broker/broker.js';
import { TokenService, type AccessTokenRecord, type TokenRequestRecord } from './auth/tokens.js';
import { bootstrap } from './bootstrap.js';
import type { HubConfig } from './config.js';
import { CommandCore, defaultCommandLimits } from './commands/command-core.js';
import { mqttCommandChannel } from './broker/command-channel.js';
import type { CommandRecord } from './commands/records.js';
import { DeviceDirectory, deviceCollectionSpec } from './device-management/device-directory.js';
import type { DeviceRecord } from './device-management/records.js';
import { deviceTypeFactories, loadDeviceTypes, type DeviceTypes } from './device-types/plugins.js';
import type { DeviceTypeContext } from './device-types/plugin.js';
import { openPushCore, type PushCore } from './device-types/wake-up.js';
import { DeviceManagement, activityCollectionSpec } from './device-management/device-management.js';
import { openPolicyManagement, type PolicyManagement } from './device-management/policies/index.js';
import { policyPlatforms } from './device-types/policy-platforms.js';
import { DeviceGroups, groupCollectionSpec } from './device-management/groups.js';
import { openAppManagement } from './device-management/apps/app-management.js';
import type { AppStore } from './device-management/apps/app-store.js';
import { OAuthTokens, oauthTokenSpec, type OAuthTokenRecord } from './device-management/oauth.js';
import type { ActivityRecord, GroupRecord } from './device-management/records.js';
import { collectionSpecs } from './registry/collections.js';
import { openRegistry, type Registry } from './registry/registry.js';
import { upstreamHandlers } from './router/handlers.js';
import { openStore } from './store/open.js';
import { openTelemetryStore } from './telemetry/store/open.js';
import type { TelemetryStore } from './telemetry/store/port.js';
import { TelemetryIngest, startRetention } from './telemetry/telemetry-ingest.js';
import { StreamHub } from './stream/stream-hub.js';
import { HubMetrics } from './metrics.js';
import { openHubCertificates, type HubCertificates } from './certificates/open.js';
import { ServerCertificates } from './broker/server-certificate.js';
import { clientCertificatePolicy } from './certificates/client-policy.js';
import { registryRenewalPolicy, startRotationJob } from './certificates/rotation.js';
import { revokeCertificatesOfDeletedDevices } from './certificates/device-lifecycle.js';
import { ClusterCommandChannel } from './cluster/cluster-channel.js';
import { handleNodeMessages } from './cluster/node-messages.js';
import { clusterOwnership } from './cluster/ownership.js';
import { startLiveness } from './cluster/liveness.js';
import { RedisThrottle } from './cluster/redis-throttle.js';
import { ioredis } from './cluster/ioredis.js';
import { DeferredSink } from './telemetry/stream-events.js';
import type { Store } from './store/port.js';
import { EventEmitter } from 'node:events';
import { ProductCodecs, productCodecsSpec, type ProductCodecRecord } from './codecs/product-codecs.js';
import { RawRoute, type RawRouteEvents } from './router/raw/raw-route.js';
import { rawCommandChannel } from './router/raw/raw-commands.js';
import { DeviceLogs, deviceLogsSpec, startDeviceLogRetention, type DeviceLogRecord } from './device-logs/device-logs.js';
import { deviceLogHandlers } from './device-logs/log-handlers.js';
import { join } from 'node:path';
import { Firmwares } from './ota/firmwares.js';
import { DownloadUrls } from './ota/download-urls.js';
import { OtaCampaigns } from './ota/campaigns.js';
import { otaHandlers } from './ota/ota-handlers.js';
import { otaSpecs } from './ota/records.js';
import { AlertRules } from './alerts/alert-rules.js';
import { AlertEngine } from './alerts/alert-engine.js';
import { WebhookSender } from './alerts/webhook.js';
import { alertSpecs } from './alerts/records.js';
import { startMdmTlsListener, type MdmTlsListener } from './device-types/ios/mdm-tls-listener.js';

export interface Hub {
  config: HubConfig;
  store: Store;
  registry: Registry;
  api: FastifyInstance;
  broker: Broker;
  commands: CommandCore;
  /** The device types that are on (HUB_DEVICE_TYPES). */
  deviceTypes: DeviceTypes;
  /** Device-management devices of every type. */
  devices: DeviceDirectory;
  /** The wake-up queue and its worker. */
  push: PushCore;
  /** Device management: devices of every type, operations, activities, groups. */
  deviceManagement: DeviceManagement;
  /** Application management: the app publisher and the app store. */
  apps: AppStore;
  /** Policies, compliance and the monitoring schedule (docs/DEVICE-MANAGEMENT.md, "Policies"). */
  policies: PolicyManagement;
  stream: StreamHub;
  /** The certificate service (embedded or remote); absent when off. */
  certificates?: HubCertificates;
  metrics: HubMetrics;
  /** Ingestion of device data: telemetry store + application stream. */
  telemetry: TelemetryIngest;
  telemetryStore: TelemetryStore;
  /** Alert evaluation (docs/PROTOCOL.md §7.4); `settled()` waits for queued evaluations. */
  alerts: AlertEngine;
  log: Logger;
  /** Where the bootstrap administrator's credentials are. */
  credentialsPath: string;
  /** Starts the REST API and the MQTT listeners; resolves with where they listen. */
  listen(): Promise<HubAddresses>;
  /**
   * SIGTERM on a cluster node (docs/DEPLOYMENT.md): /health turns 503, the MQTT listeners stop
   * accepting, devices are disconnected HUB_DRAIN_RATE per second so they move to other workers.
   * Call close() afterwards.
   */
  drain(): Promise<number>;
  close(): Promise<void>;
}

export interface HubAddresses {
  http: AddressInfo;
  /** Absent on a manager node, which accepts no devices. */
  mqtt?: AddressInfo;
  mqtts?: AddressInfo;
  ws?: AddressInfo;
  /** The Apple MDM endpoints over HTTPS with client certificates (HUB_IOS_MDM_TLS_PORT), when on. */
  iosMdmTls?: AddressInfo;
}

export const VERSION = '0.1.0';

/** How often due app installs are looked for (docs/DEVICE-MANAGEMENT.md, "Applications: schedules"). */
const appScheduleSweepMs = 15_000;

/** Secrets never reach the log, whatever a caller logs by mistake. */
export const redactPaths = [
  'accessSecret',
  'deviceSecret',
  'productSecret',
  'encryption',
  'accessToken',
  '*.accessSecret',
  '*.deviceSecret',
  '*.productSecret',
  '*.encryption',
  '*.accessToken',
  // Private keys (the APNs push key, generated identities) and any secret a record carries.
  'keyPem',
  'privateKey',
  'secretKey',
  '*.keyPem',
  '*.privateKey',
  '*.secretKey',
  'req.headers["apim-accesstoken"]',
  'req.headers["apim-signature"]',
];

/** Wires the hub from its config: store, registry, token service, REST API. Does not listen. */
export async function openHub(config: HubConfig, clock: () => number = Date.now): Promise<Hub> {
  const log = pino({ level: config.logLevel, redact: { paths: redactPaths, censor: '[redacted]' } });
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const bound = { http: `http://${config.http.host}:${config.http.port}` };
  const publicBaseUrl = () => config.publicBaseUrl ?? bound.http;
  const certLog = log.child({ component: 'certificates' });
  // Begun first and awaited where the broker needs it: a first start generates the embedded CA's key
  // pairs on libuv's thread pool while this thread opens the stores (docs/BENCHMARKS.md, "Start-up").
  // Nothing listens before both are done; a failure of either still fails the start with its error.
  const certificatesOpening =
    config.certificateService === 'off'
      ? undefined
      : openHubCertificates({
          dataDir: config.dataDir,
          mode: config.certificateService,
          publicBaseUrl,
          log: certLog,
          supersededGraceHours: config.certificateSupersededGraceHours,
        });
  // The MQTT TLS listener's certificates likewise: on a first start their key pairs are made beside
  // the CA's, and issued once the CA is there (broker/server-certificate.ts).
  const mqttLog = log.child({ component: 'mqtt' });
  const { tlsCertFile, tlsKeyFile } = config.mqtt;
  const serverCertificatesOpening = ServerCertificates.open({
    dataDir: config.dataDir,
    hostnames: config.mqtt.tlsHostnames,
    ...(tlsCertFile && tlsKeyFile ? { certFile: tlsCertFile, keyFile: tlsKeyFile } : {}),
    ...(certificatesOpening
      ? { issuer: { issueServerCertificate: async (request) => (await certificatesOpening).ops.issueServerCertificate(request) } }
      : {}),
    log: (m) => mqttLog.error(m),
  });
  // Their failures are reported where they are awaited; if an earlier step fails first, that step's error is the one.
  certificatesOpening?.catch(() => undefined);
  serverCertificatesOpening.catch(() => undefined);
  try {
    return await wireHub(config, clock, { log, certLog, mqttLog, bound, publicBaseUrl, certificatesOpening, serverCertificatesOpening });
  } catch (err) {
    // A start that fails leaves nothing running behind it: no certificate still being written, no
    // certificate service (and its store's lock) open.
    await serverCertificatesOpening.catch(() => undefined);
    await certificatesOpening?.then((c) => c.close()).catch(() => undefined);
    throw err;
  }
}

interface EarlyParts {
  log: Logger;
  certLog: Logger;
  /** The HTTP address once bound: the default public base URL. */
  bound: { http: string };
  publicBaseUrl: () => string;
  certificatesOpening: Promise<HubCertificates> | undefined;
  mqttLog: Logger;
  serverCertificatesOpening: Promise<ServerCertificates>;
}

/** The rest of openHub, with the certificate service on its way. */
async function wireHub(config: HubConfig, clock: () => number, early: EarlyParts): Promise<Hub> {
  const { log, certLog, mqttLog, bound, publicBaseUrl, certificatesOpening, serverCertificatesOpening } = early;
  const storeConfig: Parameters<typeof openStore>[0] = { dataDir: config.dataDir, mongodbDbName: config.mongodbDbName };
  if (config.mongodbUrl) storeConfig.mongodbUrl = config.mongodbUrl;
  const store = await openStore(storeConfig);
  // Registry and token records stay in memory only where this process is the registry's one writer
  // (embedded store, no cluster): other nodes' writes would not drop them (docs/ARCHITECTURE.md, "Registry caches").
  const cacheRecords = !config.redisUrl && !config.mongodbUrl;
  const registry = await openRegistry(
    store,
    { maxDevicesPerProduct: config.maxDevicesPerProduct, maxSubDevicesPerGateway: config.maxSubDevicesPerGateway },
    { cacheRecords },
  );
  const tokens = new TokenService(
    await store.collection<AccessTokenRecord>(collectionSpecs.accessTokens),
    await store.collection<TokenRequestRecord>(collectionSpecs.tokenRequests),
    registry.applications,
    { ttlSeconds: config.tokenTtlSeconds, timestampWindowSeconds: config.tokenTimestampWindowSeconds },
    clock,
    cacheRecords,
  );
  const { credentialsPath } = await bootstrap(registry, config.dataDir, log);
  // Sources are bound late: the metrics exist before the broker and the command core they read.
  let sources: { connections: () => number; queueDepth: () => Promise<number> } = { connections: () => 0, queueDepth: async () => 0 };
  const metrics = new HubMetrics({ connections: () => sources.connections(), queueDepth: () => sources.queueDepth() });
  const retentionMs = config.telemetryRetentionDays > 0 ? config.telemetryRetentionDays * 86_400_000 : undefined;
  const telemetryStore = await openTelemetryStore({
    dataDir: config.dataDir,
    mongodbDbName: config.mongodbDbName,
    ...(config.mongodbUrl ? { mongodbUrl: config.mongodbUrl } : {}),
    ...(retentionMs ? { retentionMs } : {}),
    log: (m) => log.warn(m),
  });
  const retention = retentionMs
    ? startRetention(telemetryStore, { retentionMs, intervalMs: 3_600_000, log: log.child({ component: 'telemetry' }) })
    : undefined;
  const link = config.redisUrl
    ? await (
        await import('./cluster/redis-link.js')
      ).openRedisLink(config.redisUrl, log.child({ component: 'cluster' }), config.nodeId, config.clusterNodeTtlMs, () =>
        store.seeLatestCommits?.(),
      )
    : undefined;
  // Redis is loaded only in a cluster (hub/src/cluster/ioredis.ts).
  const throttleRedis = config.redisUrl
    ? new (ioredis().Redis)(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
    : undefined;
  throttleRedis?.on('error', () => undefined); // the link logs Redis outages once
  // Ingestion feeds the application stream, which needs the broker: bound once both exist.
  const streamSink = new DeferredSink();
  const telemetry = new TelemetryIngest(telemetryStore, streamSink, log.child({ component: 'telemetry' }), {
    timed: (s) => metrics.telemetryAppend.observe(s),
    minGapMs: config.telemetryCommitGapMs,
  });
  const dp = config.deviceProtocol;
  const deviceLogs = new DeviceLogs(
    await store.collection<DeviceLogRecord>(deviceLogsSpec),
    { maxPerDevice: dp.deviceLogMaxPerDevice, retentionMs: dp.deviceLogRetentionDays * 86_400_000 },
    clock,
  );
  const deviceLogRetention =
    config.role !== 'worker'
      ? startDeviceLogRetention(deviceLogs, 3_600_000, (err) => log.error({ err }, 'device log retention failed'))
      : undefined;
  const firmwares = new Firmwares(
    await store.collection(otaSpecs.firmwares),
    join(config.dataDir, 'ota', 'firmware'),
    dp.otaMaxFirmwareBytes,
    clock,
  );
  const downloadUrls = await DownloadUrls.open(await store.collection(otaSpecs.settings), dp.otaDownloadTtlSeconds * 1000, clock);
  const ota = new OtaCampaigns(
    {
      jobs: await store.collection(otaSpecs.jobs),
      tasks: await store.collection(otaSpecs.tasks),
      versions: await store.collection(otaSpecs.versions),
    },
    registry,
    firmwares,
    downloadUrls,
    publicBaseUrl,
    log.child({ component: 'ota' }),
    clock,
  );
  const certificates = await certificatesOpening;
  if (!certificates) certLog.warn('certificate service off: no certificate API and no mutual TLS (a cluster needs HUB_CERT_SERVICE_URL)');
  const clientCertificates = certificates ? await clientCertificatePolicy(certificates, certLog) : undefined;
  const unwatchDeleted = certificates ? revokeCertificatesOfDeletedDevices(registry.events, certificates.ops, certLog) : () => undefined;
  const rotation =
    certificates && config.role !== 'worker' && config.certificateRotationDays > 0
      ? startRotationJob(certificates.ops, {
          withinDays: config.certificateRotationDays,
          intervalMs: 6 * 3_600_000,
          log: certLog,
          policy: registryRenewalPolicy(registry),
        })
      : undefined;
  const handlers = { ...upstreamHandlers, ...deviceLogHandlers(deviceLogs), ...otaHandlers(ota) };
  const broker = await createBroker({
    registry,
    ingest: telemetry,
    log: mqttLog,
    config: config.mqtt,
    dataDir: config.dataDir,
    handlers,
    clock,
    appLoginWindowSeconds: config.tokenTimestampWindowSeconds,
    loginLedger: tokens.ledger,
    metrics,
    ...(clientCertificates ? { clientCertificates } : {}),
    serverCertificates: await serverCertificatesOpening,
    ...(config.redisUrl && throttleRedis
      ? { redisUrl: config.redisUrl, throttle: new RedisThrottle(throttleRedis, config.mqtt.throttle) }
      : {}),
  });
  if (link) broker.lifecycle.ownership = clusterOwnership(link, log.child({ component: 'cluster' }));
  // Custom products: raw uplinks decoded by the product's codec, commands encoded by it (docs/PROTOCOL.md §7.1).
  const codecs = new ProductCodecs(await store.collection<ProductCodecRecord>(productCodecsSpec), clock);
  const rawReplies = new EventEmitter<RawRouteEvents>();
  broker.router.raw = new RawRoute(codecs, handlers, rawReplies);
  const localChannel = rawCommandChannel(mqttCommandChannel(broker), codecs, rawReplies);
  const clusterChannel = link ? new ClusterCommandChannel(localChannel, link, log.child({ component: 'cluster' })) : undefined;
  await clusterChannel?.start();
  const stream = new StreamHub(broker.aedes, log.child({ component: 'stream' }), { localFanOut: !config.redisUrl });
  // Alerts are evaluated beside the stream, after the data is stored (docs/PROTOCOL.md §7.4).
  const webhooks = new WebhookSender(
    { attempts: dp.alertWebhookAttempts, backoffMs: dp.alertWebhookBackoffMs, timeoutMs: 5_000, maxQueue: 10_000 },
    log.child({ component: 'alerts' }),
  );
  const alertRules = new AlertRules(await store.collection(alertSpecs.rules), clock);
  const alerts = new AlertEngine(
    alertRules,
    await store.collection(alertSpecs.alerts),
    stream,
    webhooks,
    log.child({ component: 'alerts' }),
    clock,
  );
  streamSink.target = {
    publish(e) {
      stream.publish(e);
      alerts.publish(e);
    },
  };
  for (const status of ['online', 'offline', 'activated'] as const) {
    broker.lifecycle.on(status, (d, time) =>
      stream.publish({
        type: 'lifecycle',
        orgId: d.orgId,
        assetId: d.assetId,
        productKey: d.productKey,
        deviceKey: d.deviceKey,
        time,
        status,
      }),
    );
  }
  const deviceTypes = await loadDeviceTypes(config.deviceTypes ?? Object.keys(deviceTypeFactories), {
    log: log.child({ component: 'device-types' }),
    clock,
    dataDir: config.dataDir,
    store,
    mqttChannel: clusterChannel ?? localChannel,
    ...(certificates ? { certificates: certificates.ops } : {}),
    env: process.env,
  });
  const devices = new DeviceDirectory(await store.collection<DeviceRecord>(deviceCollectionSpec), clock);
  const commands = new CommandCore(
    await store.collection<CommandRecord>(collectionSpecs.commands),
    deviceTypes,
    log.child({ component: 'commands' }),
    defaultCommandLimits,
    clock,
    metrics,
    link?.nodeId,
  );
  sources = { connections: () => broker.sessions.size, queueDepth: () => commands.queueDepth() };
  // Single writer: devices with queued commands / active OTA tasks tracked in memory (commands/pending-work.ts).
  if (cacheRecords) await commands.trackPendingInMemory();
  await commands.start();
  const push = openPushCore({
    commands,
    devices,
    types: deviceTypes,
    log: log.child({ component: 'push' }),
    clock,
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
  });
  await ota.start(clusterChannel ?? localChannel, { singleWriter: cacheRecords });
  if (link && clusterChannel) handleNodeMessages(link, broker, commands, clusterChannel, log.child({ component: 'cluster' }));
  const liveness = link
    ? await startLiveness(
        link,
        broker.lifecycle,
        commands,
        log.child({ component: 'cluster' }),
        Math.max(250, Math.floor(config.clusterNodeTtlMs / 3)),
      )
    : undefined;
  let draining = false;
  const deviceTypeContext: DeviceTypeContext = {
    log: log.child({ component: 'device-types' }),
    pull: commands.pull,
    devices,
    publicBaseUrl,
    clock,
  };
  const deviceManagement = new DeviceManagement(
    devices,
    registry,
    commands,
    deviceTypes,
    await store.collection<ActivityRecord>(activityCollectionSpec),
    new DeviceGroups(await store.collection<GroupRecord>(groupCollectionSpec), devices, clock),
  );
  const apps = await openAppManagement(store, deviceManagement, commands, {
    dataDir: config.dataDir,
    maxArtifactBytes: config.appMaxArtifactBytes,
    publicBaseUrl,
    log: log.child({ component: 'apps' }),
    clock,
  });
  // Scheduled installs run on management nodes (a claim in the store keeps each run to one node).
  if (config.role !== 'worker') apps.start(appScheduleSweepMs);
  const policies = await openPolicyManagement({
    store,
    dm: deviceManagement,
    commands,
    platforms: policyPlatforms(deviceTypes),
    log: log.child({ component: 'policies' }),
    clock,
    monitorFrequencySeconds: config.policyMonitorSeconds,
  });
  await policies.monitor.start();
  const oauthTokens = new OAuthTokens(
    await store.collection<OAuthTokenRecord>(oauthTokenSpec),
    registry.applications,
    config.oauthTokenTtlSeconds,
    clock,
  );
  let mdmTls: MdmTlsListener | undefined;
  const api = await buildApi({
    health: () => (draining ? 'draining' : link && !link.connected ? 'degraded' : 'ok'),
    registry,
    commands,
    deviceTypes,
    deviceTypeContext,
    deviceMgt: {
      dm: deviceManagement,
      tokens: oauthTokens,
      types: deviceTypes,
      ctx: deviceTypeContext,
      rateLimitPerMinute: config.dmRateLimitPerMinute,
      tokenRateLimitPerMinute: config.tokenRateLimitPerMinute,
      apps,
      policies: policies.policies,
    },
    stream,
    telemetry: telemetryStore,
    metrics,
    metricsToken: config.metricsToken,
    tokens,
    logger: log.child({ component: 'api' }),
    bodyLimit: config.bodyLimitBytes,
    tokenRateLimitPerMinute: config.tokenRateLimitPerMinute,
    version: VERSION,
    management: config.role !== 'worker',
    ...(certificates
      ? { certificates: certificates.ops, ...(certificates.service ? { certificateService: certificates.service } : {}) }
      : {}),
    publicBaseUrl,
    codecs,
    deviceLogs,
    ota: { firmwares, campaigns: ota, urls: downloadUrls },
    appDownloads: { publisher: apps.publisher, publicBaseUrl },
    alerts: { rules: alertRules, engine: alerts },
  });
  return {
    config,
    store,
    registry,
    api,
    broker,
    commands,
    deviceTypes,
    devices,
    push,
    deviceManagement,
    apps,
    policies,
    stream,
    ...(certificates ? { certificates } : {}),
    metrics,
    telemetry,
    telemetryStore,
    alerts,
    log,
    credentialsPath,
    async listen() {
      await api.listen({ host: config.http.host, port: config.http.port });
      const httpAddr = api.server.address() as AddressInfo;
      const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
      bound.http = `http://${host.includes(':') ? `[${host}]` : host}:${httpAddr.port}`;
      // A manager node serves the management REST only; its broker instance still joins the
      // cluster's fan-out (for SSE) without accepting devices.
      if (config.role === 'manager') return { http: api.server.address() as AddressInfo };
      const listeners = await broker.listen();
      // The Apple device endpoints over mutual TLS, same routes and server certificate as the MQTT TLS listener.
      if (config.iosMdmTlsPort !== undefined && deviceTypes.has('ios')) {
        mdmTls = await startMdmTlsListener({
          host: config.http.host,
          port: config.iosMdmTlsPort,
          material: broker.serverCertificates.material,
          routing: (req, res) => api.routing(req, res),
          keepAliveTimeoutMs: api.server.keepAliveTimeout,
        });
        const listener = mdmTls;
        broker.serverCertificates.start((material) => listener.setMaterial(material));
      }
      return {
        http: api.server.address() as AddressInfo,
        mqtt: listeners.tcp,
        mqtts: listeners.tls,
        ws: listeners.ws,
        ...(mdmTls ? { iosMdmTls: mdmTls.address } : {}),
      };
    },
    async drain() {
      draining = true;
      return broker.drain(config.drainPerSecond);
    },
    async close() {
      await ota.stop();
      await apps.stop();
      await webhooks.stop();
      await rotation?.stop();
      unwatchDeleted();
      clientCertificates?.close();
      liveness?.stop();
      await policies.monitor.stop();
      await push.close();
      await commands.stop();
      await deviceTypes.close();
      await broker.close();
      await mdmTls?.close();
      await api.close();
      await link?.close();
      throttleRedis?.disconnect();
      await retention?.stop();
      await deviceLogRetention?.stop();
      await certificates?.close();
      await telemetryStore.close();
      await store.close();
    },
  };
}
