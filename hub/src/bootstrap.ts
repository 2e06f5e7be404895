import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from './registry/registry.js';

export const CREDENTIALS_FILE = 'admin-credentials.json';

export interface AdminCredentials {
  orgId: string;
  appId: string;
  accessKey: string;
  accessSecret: string;
}

/**
 * On the first start (no administrator application yet) creates a bootstrap organization and an
 * administrator application registered in it. Its secret goes to a 0600 file in the data
 * directory, never to the log.
 */
export async function bootstrap(registry: Registry, dataDir: string, log: Logger): Promise<{ created: boolean; credentialsPath: string }> {
  const credentialsPath = join(dataDir, CREDENTIALS_FILE);
  if (await registry.applications.anyAdmin()) return { created: false, credentialsPath };
  const org = await registry.organizations.create({ name: 'Bootstrap organization', description: 'Created on the first start' });
  const app = await registry.applications.create({ name: 'administrator', orgId: org.orgId, admin: true });
  const creds: AdminCredentials = { orgId: org.orgId, appId: app.appId, accessKey: app.accessKey, accessSecret: app.accessSecret };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(credentialsPath, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  await chmod(credentialsPath, 0o600); // in case the file existed with wider permissions
  log.info({ orgId: org.orgId, accessKey: app.accessKey, credentialsPath }, 'bootstrap organization and administrator created; the secret is in the credentials file');
  return { created: true, credentialsPath };
}
