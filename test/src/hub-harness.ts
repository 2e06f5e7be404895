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
  const config = loadConfig({ LOG_LEVEL: 'silent' }, { dataDir, http: { host: '127.0.0.1', port: 0 }, ...overrides });
  let skew = 0;
  const hub = await openHub(config, () => Date.now() + skew);
  await hub.api.listen({ host: '127.0.0.1', port: 0 });
  const addr = hub.api.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  const baseUrl = `http://127.0.0.1:${addr.port}`;
  const adminCreds = JSON.parse(await readFile(hub.credentialsPath, 'utf8')) as AdminCredentials;
  return {
    hub,
    baseUrl,
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
export async function newTenant(h: RunningHub, name: string): Promise<{ orgId: string; appId: string; client: ApiClient; accessKey: string; accessSecret: string }> {
  const org = await h.admin.ok<{ orgId: string }>('POST', '/admin/v1/organizations', {}, { name });
  const app = await h.admin.ok<{ appId: string; accessKey: string; accessSecret: string }>('POST', '/admin/v1/applications', {}, { name: `${name}-app`, orgId: org.data.orgId });
  return {
    orgId: org.data.orgId,
    appId: app.data.appId,
    accessKey: app.data.accessKey,
    accessSecret: app.data.accessSecret,
    client: new ApiClient({ baseUrl: h.baseUrl, accessKey: app.data.accessKey, accessSecret: app.data.accessSecret }),
  };
}

export const i18n = (s: string) => ({ defaultValue: s });
