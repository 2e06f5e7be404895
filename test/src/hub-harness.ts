import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, loadConfig, openHub, type Hub, type HubConfig } from '@edgehub/hub';

export interface AdminCredentials {
  orgId: string;
  appId: string;
  accessKey: string;
  accessSecret: string;
}

export interface RunningHub {
  hub: Hub;
  baseUrl: string;
  /** Plain MQTT, MQTT over TLS and MQTT over WebSocket of this hub. */
  mqttUrl: string;
  mqttsUrl: string;
  wsUrl: string;
  mqttPort: number;
  mqttsPort: number;
  /** The TLS listener's certificate, to use as the clients' CA. */
  tlsCaPath: string;
  /** The Apple MDM endpoints over mutual TLS (`https://127.0.0.1:<port>`), when started with `iosMdmTlsPort`. */
  iosMdmTlsUrl?: string;
  dataDir: string;
  admin: ApiClient;
  adminCreds: AdminCredentials;
  /** Moves the hub's clock (token expiry) without sleeping. */
  advanceClock(ms: number): void;
  close(): Promise<void>;
}

/** A real hub on an ephemeral port over a fresh embedded store in a temp dir. */
export async function startHub(overrides: Partial<HubConfig> = {}): Promise<RunningHub> {
  const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-test-'));
  const base = loadConfig({ LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
  // Ephemeral ports everywhere; connect throttling off unless a test turns it on.
  const mqtt = {
    ...base.mqtt,
    host: '127.0.0.1',
    port: 0,
    tlsPort: 0,
    wsPort: 0,
    throttle: { ...base.mqtt.throttle, enabled: false },
    ...overrides.mqtt,
  };
  const config = { ...base, dataDir, http: { host: '127.0.0.1', port: 0 }, ...overrides, mqtt };
  let skew = 0;
  const hub = await openHub(config, () => Date.now() + skew);
  const at = await hub.listen();
  if (!at.mqtt || !at.mqtts || !at.ws) throw new Error('startHub runs a node with device listeners (role all or worker)');
  const { mqtt: mq, mqtts, ws } = at;
  const baseUrl = `http://127.0.0.1:${at.http.port}`;
  const adminCreds = JSON.parse(await readFile(hub.credentialsPath, 'utf8')) as AdminCredentials;
  return {
    hub,
    baseUrl,
    mqttUrl: `mqtt://127.0.0.1:${mq.port}`,
    mqttsUrl: `mqtts://127.0.0.1:${mqtts.port}`,
    wsUrl: `ws://127.0.0.1:${ws.port}/mqtt`,
    mqttPort: mq.port,
    mqttsPort: mqtts.port,
    tlsCaPath: hub.broker.tlsCertPath,
    ...(at.iosMdmTls ? { iosMdmTlsUrl: `https://127.0.0.1:${at.iosMdmTls.port}` } : {}),
    dataDir,
    adminCreds,
    admin: new ApiClient({ baseUrl, accessKey: adminCreds.accessKey, accessSecret: adminCreds.accessSecret }),
    advanceClock(ms) {
      skew += ms;
    },
    async close() {
      await hub.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates an organization and an application owned by it; returns a client for that application. */
export async function newTenant(
  h: RunningHub,
  name: string,
): Promise<{ orgId: string; appId: string; client: ApiClient; accessKey: string; accessSecret: string }> {
  const org = await h.admin.ok<{ orgId: string }>('POST', '/admin/v1/organizations', {}, { name });
  const app = await h.admin.ok<{ appId: string; accessKey: string; accessSecret: string }>(
    'POST',
    '/admin/v1/applications',
    {},
    { name: `${name}-app`, orgId: org.data.orgId },
  );
  return {
    orgId: org.data.orgId,
    appId: app.data.appId,
    accessKey: app.data.accessKey,
    accessSecret: app.data.accessSecret,
    client: new ApiClient({ baseUrl: h.baseUrl, accessKey: app.data.accessKey, accessSecret: app.data.accessSecret }),
  };
}

export const i18n = (s: string) => ({ defaultValue: s });
