import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeSecretFile } from '@edgehub/shared/secret-file';
import { newAccessKey, newAccessSecret, newAppId, newOrgId } from './registry/ids.js';
import type { Registry } from './registry/registry.js';

export const CREDENTIALS_FILE = 'admin-credentials.json';

export interface AdminCredentials {
  orgId: string;
  appId: string;
  accessKey: string;
  accessSecret: string;
}

/**
 * The steps of the first start, in order. `HUB_TEST_CRASH_AT=<step>` (tests only, see
 * docs/ARCHITECTURE.md, "Secrets on disk") kills the process right after the named step, to prove that a crash
 * between two of them never leaves an administrator nobody can log in as.
 */
export const BOOTSTRAP_STEPS = ['after-credentials', 'after-organization'] as const;
export type BootstrapStep = (typeof BOOTSTRAP_STEPS)[number];

/**
 * On the first start (no administrator application yet) creates a bootstrap organization and an
 * administrator application registered in it. Its secret goes to a 0600 file in the data
 * directory, never to the log.
 *
 * The credentials file is written (atomically, fsync'd) before anything is committed to the
 * registry: an administrator exists only once the file that logs in as it does. A start that
 * finds the file but no administrator (the previous start died in between) finishes the job
 * with the file's identity instead of making a second organization.
 */
export async function bootstrap(
  registry: Registry,
  dataDir: string,
  log: Logger,
  crashAt: string | undefined = process.env['HUB_TEST_CRASH_AT'],
): Promise<{ created: boolean; credentialsPath: string }> {
  const credentialsPath = join(dataDir, CREDENTIALS_FILE);
  if (await registry.applications.anyAdmin()) return { created: false, credentialsPath };
  const step = (name: BootstrapStep) => {
    if (crashAt === name) process.kill(process.pid, 'SIGKILL');
  };

  const creds = (await readUnfinished(credentialsPath)) ?? {
    orgId: newOrgId(),
    appId: newAppId(),
    accessKey: newAccessKey(),
    accessSecret: newAccessSecret(),
  };
  // Written again when it was there: its mode is 0600 again whatever someone did to it.
  await writeSecretFile(credentialsPath, JSON.stringify(creds, null, 2) + '\n');
  step('after-credentials');
  if (!(await registry.organizations.get(creds.orgId))) {
    await registry.organizations.create({ orgId: creds.orgId, name: 'Bootstrap organization', description: 'Created on the first start' });
  }
  step('after-organization');
  await registry.applications.create({ name: 'administrator', orgId: creds.orgId, admin: true, credentials: creds });
  log.info(
    { orgId: creds.orgId, accessKey: creds.accessKey, credentialsPath },
    'bootstrap organization and administrator created; the secret is in the credentials file',
  );
  return { created: true, credentialsPath };
}

/** The credentials of a bootstrap that did not finish, if the file is there and whole. */
async function readUnfinished(path: string): Promise<AdminCredentials | undefined> {
  let parsed: Partial<AdminCredentials>;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<AdminCredentials>;
  } catch {
    return undefined;
  }
  const { orgId, appId, accessKey, accessSecret } = parsed;
  if (typeof orgId !== 'string' || typeof appId !== 'string' || typeof accessKey !== 'string' || typeof accessSecret !== 'string')
    return undefined;
  if (!orgId || !appId || !accessKey || !accessSecret) return undefined;
  return { orgId, appId, accessKey, accessSecret };
}
