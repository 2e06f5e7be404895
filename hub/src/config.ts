import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MqttConfig } from './broker/broker.js';
import { enosThrottle } from './broker/throttle.js';
import { isIP } from 'node:net';
import { defaultConnectionLimits } from './broker/connection-limits.js';

/** The hub's configuration: one typed object, defaults in one place, read from the environment. */
export interface HubConfig {
  dataDir: string;
  http: { host: string; port: number };
  /**
   * The Apple MDM endpoints (/mdm) also over HTTPS with client certificates, on this port
   * (HUB_IOS_MDM_TLS_PORT; unset = off, 0 = a free one): docs/DEVICE-MANAGEMENT.md, "Apple: device identity".
   */
  iosMdmTlsPort?: number;
  /** Set to use MongoDB for the registry; otherwise the embedded store under dataDir. */
  mongodbUrl?: string;
  mongodbDbName: string;
  logLevel: string;
  tokenTtlSeconds: number;
  tokenTimestampWindowSeconds: number;
  tokenRateLimitPerMinute: number;
  bodyLimitBytes: number;
  maxDevicesPerProduct: number;
  maxSubDevicesPerGateway: number;
  mqtt: MqttConfig;
  /** When set, GET /metrics requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** Cluster mode: MQTT sessions, fan-out and cluster state in Redis. */
  redisUrl?: string;
  /** `all` (default): everything; `worker`: MQTT and device-facing endpoints; `manager`: management REST. */
  role: 'all' | 'worker' | 'manager';
  /** This node's id in a cluster (default: random per start). */
  nodeId?: string;
  /** Cluster: a node whose heartbeat is older than this is dead and its devices go offline. */
  clusterNodeTtlMs: number;
  /** On SIGTERM/SIGINT, devices disconnected per second while draining (0: all at once). */
  drainPerSecond: number;
  /** Telemetry history is kept this many days (0 = forever). */
  telemetryRetentionDays: number;
  /** Least time between two group commits of single posts, in ms (HUB_TELEMETRY_COMMIT_GAP_MS; 0 = none): CPU per post against latency. */
  telemetryCommitGapMs: number;
  /** The URL devices and applications reach this hub at (CRL and CA links in certificates). */
  publicBaseUrl?: string;
  /** The certificate service: embedded (all-in-one default) or a standalone one. */
  certificateService: 'embedded' | 'off' | { url: string; sharedSecret: string };
  /** Certificates expiring within this many days are renewed by the rotation job (0 = no job). */
  certificateRotationDays: number;
  /** Device types that are on (HUB_DEVICE_TYPES); undefined = every device type the hub knows. */
  deviceTypes?: string[];
  /** Device-management REST calls per OAuth2 client per minute (HUB_DM_RATE_LIMIT). */
  dmRateLimitPerMinute: number;
  /** Largest enterprise-app artifact the publisher accepts (HUB_APP_MAX_ARTIFACT_BYTES). */
  appMaxArtifactBytes: number;
  /** Lifetime of an OAuth2 access token issued by POST /token (HUB_OAUTH_TOKEN_TTL_SECONDS). */
  oauthTokenTtlSeconds: number;
  /** Time between policy monitoring runs (HUB_POLICY_MONITOR_SECONDS). */
  policyMonitorSeconds: number;
  /** A renewed certificate is revoked as superseded this many hours after its renewal (embedded service). */
  certificateSupersededGraceHours: number;
  /** Device protocol extras: device logs, OTA, alerts (docs/PROTOCOL.md). */
  deviceProtocol: DeviceProtocolConfig;
}

export interface DeviceProtocolConfig {
  /** `thing.log.post` entries (and network reports) kept per device; the oldest go first. */
  deviceLogMaxPerDevice: number;
  /** Device logs older than this many days are pruned (0 = only the count bound). */
  deviceLogRetentionDays: number;
  /** Largest firmware file accepted for upload. */
  otaMaxFirmwareBytes: number;
  /** How long a signed firmware download URL stays valid. */
  otaDownloadTtlSeconds: number;
  /** Attempts per alert webhook delivery (the first one included). */
  alertWebhookAttempts: number;
  /** Wait before the first webhook retry; doubled per retry. */
  alertWebhookBackoffMs: number;
}

export const defaults: HubConfig = {
  dataDir: './data',
  http: { host: '127.0.0.1', port: 8080 },
  mongodbDbName: 'edgehub',
  logLevel: 'info',
  tokenTtlSeconds: 7200,
  tokenTimestampWindowSeconds: 900,
  tokenRateLimitPerMinute: 120,
  bodyLimitBytes: 1024 * 1024,
  maxDevicesPerProduct: 10_000,
  maxSubDevicesPerGateway: 1_500,
  role: 'all',
  clusterNodeTtlMs: 15_000,
  drainPerSecond: 500,
  telemetryRetentionDays: 90,
  telemetryCommitGapMs: 0,
  certificateService: 'embedded',
  certificateRotationDays: 30,
  dmRateLimitPerMinute: 600,
  appMaxArtifactBytes: 256 * 1024 * 1024,
  oauthTokenTtlSeconds: 3600,
  policyMonitorSeconds: 600,
  certificateSupersededGraceHours: 168,
  deviceProtocol: {
    deviceLogMaxPerDevice: 1000,
    deviceLogRetentionDays: 30,
    otaMaxFirmwareBytes: 16 * 1024 * 1024,
    otaDownloadTtlSeconds: 86_400,
    alertWebhookAttempts: 6,
    alertWebhookBackoffMs: 1000,
  },
  mqtt: {
    host: '127.0.0.1',
    port: 11883,
    tlsPort: 18883,
    wsPort: 8083,
    tlsHostnames: ['localhost', '127.0.0.1', '::1'],
    throttle: enosThrottle,
    limits: { maxOnlineSubDevices: 200, maxRegisterBatch: 1000, maxAttributesPerRequest: 200 },
    activation: { retryMs: 3000, maxAttempts: 10 },
    connections: defaultConnectionLimits(),
  },
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** HUB_MQTT_PROXY_PROTOCOL_FROM: comma-separated IPv4/IPv6 addresses or CIDR ranges. */
function proxyList(raw: string): string[] {
  const list = raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const entry of list) {
    const [address, prefix, extra] = entry.split('/');
    const bits = isIP(address ?? '');
    const okPrefix = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (bits === 6 ? 128 : 32));
    if (!bits || !okPrefix || extra !== undefined)
      throw new ConfigError(
        `HUB_MQTT_PROXY_PROTOCOL_FROM must list IP addresses or CIDR ranges (e.g. 10.0.0.0/8,127.0.0.1), got "${entry}"`,
      );
  }
  return list;
}

/** Reads HUB_* variables (and MONGODB_URL); a bad value is an error that names the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<HubConfig> = {}): HubConfig {
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return n;
  };
  const level = env['LOG_LEVEL'] ?? defaults.logLevel;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level))
    throw new ConfigError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "${level}"`);
  const config: HubConfig = {
    mqtt: defaults.mqtt,
    role: 'all',
    clusterNodeTtlMs: int('HUB_CLUSTER_NODE_TTL_MS', defaults.clusterNodeTtlMs, 1_000, 600_000),
    drainPerSecond: int('HUB_DRAIN_RATE', defaults.drainPerSecond, 0, 1_000_000),
    telemetryRetentionDays: int('HUB_TELEMETRY_RETENTION_DAYS', defaults.telemetryRetentionDays, 0, 36500),
    telemetryCommitGapMs: int('HUB_TELEMETRY_COMMIT_GAP_MS', defaults.telemetryCommitGapMs, 0, 100),
    certificateService: defaults.certificateService,
    certificateRotationDays: int('HUB_CERT_ROTATION_DAYS', defaults.certificateRotationDays, 0, 3650),
    certificateSupersededGraceHours: int('HUB_CERT_SUPERSEDED_GRACE_HOURS', defaults.certificateSupersededGraceHours, 0, 24 * 3650),
    dataDir: resolve(env['HUB_DATA_DIR'] || defaults.dataDir),
    http: { host: env['HUB_HTTP_HOST'] || defaults.http.host, port: int('HUB_HTTP_PORT', defaults.http.port, 0, 65535) },
    mongodbDbName: env['MONGODB_DB'] || defaults.mongodbDbName,
    logLevel: level,
    tokenTtlSeconds: int('HUB_TOKEN_TTL_SECONDS', defaults.tokenTtlSeconds, 1, 30 * 86400),
    tokenTimestampWindowSeconds: int('HUB_TOKEN_TIMESTAMP_WINDOW_SECONDS', defaults.tokenTimestampWindowSeconds, 1, 86400),
    tokenRateLimitPerMinute: int('HUB_TOKEN_RATE_LIMIT', defaults.tokenRateLimitPerMinute, 1, 1_000_000),
    bodyLimitBytes: int('HUB_BODY_LIMIT_BYTES', defaults.bodyLimitBytes, 1024, 64 * 1024 * 1024),
    maxDevicesPerProduct: int('HUB_MAX_DEVICES_PER_PRODUCT', defaults.maxDevicesPerProduct, 1, 10_000_000),
    maxSubDevicesPerGateway: int('HUB_MAX_SUBDEVICES_PER_GATEWAY', defaults.maxSubDevicesPerGateway, 1, 1_000_000),
    dmRateLimitPerMinute: int('HUB_DM_RATE_LIMIT', defaults.dmRateLimitPerMinute, 1, 1_000_000),
    appMaxArtifactBytes: int('HUB_APP_MAX_ARTIFACT_BYTES', defaults.appMaxArtifactBytes, 1024, 4 * 1024 * 1024 * 1024),
    oauthTokenTtlSeconds: int('HUB_OAUTH_TOKEN_TTL_SECONDS', defaults.oauthTokenTtlSeconds, 60, 86_400),
    policyMonitorSeconds: int('HUB_POLICY_MONITOR_SECONDS', defaults.policyMonitorSeconds, 10, 7 * 86_400),
    deviceProtocol: {
      deviceLogMaxPerDevice: int('HUB_DEVICE_LOG_MAX_PER_DEVICE', defaults.deviceProtocol.deviceLogMaxPerDevice, 1, 1_000_000),
      deviceLogRetentionDays: int('HUB_DEVICE_LOG_RETENTION_DAYS', defaults.deviceProtocol.deviceLogRetentionDays, 0, 36500),
      otaMaxFirmwareBytes: int('HUB_OTA_MAX_FIRMWARE_BYTES', defaults.deviceProtocol.otaMaxFirmwareBytes, 1024, 256 * 1024 * 1024),
      otaDownloadTtlSeconds: int('HUB_OTA_DOWNLOAD_TTL_SECONDS', defaults.deviceProtocol.otaDownloadTtlSeconds, 60, 30 * 86400),
      alertWebhookAttempts: int('HUB_ALERT_WEBHOOK_ATTEMPTS', defaults.deviceProtocol.alertWebhookAttempts, 1, 20),
      alertWebhookBackoffMs: int('HUB_ALERT_WEBHOOK_BACKOFF_MS', defaults.deviceProtocol.alertWebhookBackoffMs, 10, 600_000),
    },
  };
  if (env['HUB_DEVICE_TYPES']) {
    const ids = env['HUB_DEVICE_TYPES']
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    if (!ids.includes('enos-mqtt')) throw new ConfigError("HUB_DEVICE_TYPES must include enos-mqtt (the IoT hub's own devices)");
    config.deviceTypes = ids;
  }
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  };
  const d = defaults.mqtt;
  config.mqtt = {
    ...d,
    host: env['HUB_MQTT_HOST'] || config.http.host,
    port: int('HUB_MQTT_PORT', d.port, 0, 65535),
    tlsPort: int('HUB_MQTTS_PORT', d.tlsPort, 0, 65535),
    wsPort: int('HUB_MQTT_WS_PORT', d.wsPort, 0, 65535),
    tlsHostnames: env['HUB_MQTT_TLS_HOSTNAMES']
      ? env['HUB_MQTT_TLS_HOSTNAMES']
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean)
      : d.tlsHostnames,
    ...(env['HUB_MQTT_PROXY_PROTOCOL_FROM'] ? { proxyProtocolFrom: proxyList(env['HUB_MQTT_PROXY_PROTOCOL_FROM']) } : {}),
    throttle: { ...d.throttle, enabled: bool('HUB_MQTT_CONNECT_THROTTLE', d.throttle.enabled) },
    limits: { ...d.limits, maxOnlineSubDevices: int('HUB_MAX_ONLINE_SUBDEVICES', d.limits.maxOnlineSubDevices, 1, 1_000_000) },
    connections: {
      maxConnections: int('HUB_MQTT_MAX_CONNECTIONS', d.connections.maxConnections, 1, 10_000_000),
      connectTimeoutMs: int('HUB_MQTT_CONNECT_TIMEOUT_MS', d.connections.connectTimeoutMs, 100, 600_000),
      maxConnectBytes: int('HUB_MQTT_MAX_CONNECT_BYTES', d.connections.maxConnectBytes, 1024, 1024 * 1024),
      // Above the 512 KiB payload limit plus the largest topic (docs/PROTOCOL.md §5.2).
      maxFrameBytes: int('HUB_MQTT_MAX_FRAME_BYTES', d.connections.maxFrameBytes, 576 * 1024, 256 * 1024 * 1024),
      tcpKeepAliveSeconds: int('HUB_MQTT_TCP_KEEPALIVE_SECONDS', d.connections.tcpKeepAliveSeconds, 0, 7200),
    },
  };
  const certFile = env['HUB_MQTT_TLS_CERT'];
  const keyFile = env['HUB_MQTT_TLS_KEY'];
  if (Boolean(certFile) !== Boolean(keyFile)) throw new ConfigError('HUB_MQTT_TLS_CERT and HUB_MQTT_TLS_KEY must be given together');
  if (certFile && keyFile) Object.assign(config.mqtt, { tlsCertFile: certFile, tlsKeyFile: keyFile });
  if (env['HUB_METRICS_TOKEN']) config.metricsToken = env['HUB_METRICS_TOKEN'];
  const role = env['HUB_ROLE'] || 'all';
  if (role !== 'all' && role !== 'worker' && role !== 'manager')
    throw new ConfigError(`HUB_ROLE must be all, worker or manager, got "${role}"`);
  config.role = role;
  if (env['REDIS_URL']) {
    if (!/^rediss?:\/\//.test(env['REDIS_URL'])) throw new ConfigError('REDIS_URL must start with redis:// or rediss://');
    config.redisUrl = env['REDIS_URL'];
  } else if (role !== 'all') {
    throw new ConfigError(`HUB_ROLE=${role} needs REDIS_URL: worker and manager nodes share state through Redis`);
  }
  if (env['HUB_IOS_MDM_TLS_PORT']) config.iosMdmTlsPort = int('HUB_IOS_MDM_TLS_PORT', 0, 0, 65535);
  if (env['HUB_NODE_ID']) config.nodeId = env['HUB_NODE_ID'];
  if (env['HUB_PUBLIC_URL']) {
    if (!/^https?:\/\//.test(env['HUB_PUBLIC_URL'])) throw new ConfigError('HUB_PUBLIC_URL must start with http:// or https://');
    config.publicBaseUrl = env['HUB_PUBLIC_URL'].replace(/\/$/, '');
  }
  const certUrl = env['HUB_CERT_SERVICE_URL'];
  const certSecret =
    env['HUB_CERT_SERVICE_SECRET'] ??
    (env['HUB_CERT_SERVICE_SECRET_FILE'] ? readFileSync(env['HUB_CERT_SERVICE_SECRET_FILE'], 'utf8').trim() : undefined);
  if (certUrl) {
    if (!certSecret) throw new ConfigError('HUB_CERT_SERVICE_URL needs HUB_CERT_SERVICE_SECRET or HUB_CERT_SERVICE_SECRET_FILE');
    config.certificateService = { url: certUrl, sharedSecret: certSecret };
  } else if (env['HUB_CERT_SERVICE'] === 'off' || config.redisUrl) {
    // Every node of a cluster must share one CA: an embedded one per node would not be.
    config.certificateService = 'off';
  }
  const mongo = env['MONGODB_URL'];
  if (mongo) {
    if (!/^mongodb(\+srv)?:\/\//.test(mongo)) throw new ConfigError('MONGODB_URL must start with mongodb:// or mongodb+srv://');
    config.mongodbUrl = mongo;
  }
  return { ...config, ...overrides };
}
