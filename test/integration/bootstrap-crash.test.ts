/**
 * The first start writes the administrator's credentials file before it commits the
 * administrator to the registry (docs/ARCHITECTURE.md, "Secrets on disk"): a hub killed between
 * any two bootstrap steps (HUB_TEST_CRASH_AT) restarts into a working
 * administrator whose secret is the one in the file, with one bootstrap organization.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@edgehub/hub';
import { freeHubPorts, repoRoot, spawnHub, type AdminCredentials } from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Runs the hub binary on the data directory until it is killed at the named bootstrap step. */
async function crashAt(dataDir: string, step: string): Promise<{ signal: NodeJS.Signals | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'hub/src/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      HUB_DATA_DIR: dataDir,
      HUB_TEST_CRASH_AT: step,
      ...freeHubPorts,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  // A hub that does not crash prints its URLs and keeps running: stop it, so the test fails on
  // the signal below instead of timing out.
  child.stdout.on('data', () => {
    if (/REST API\s+http/.test(output)) child.kill('SIGTERM');
  });
  const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { signal, output };
}

describe('bootstrap: a crash between the credentials file and the registry', () => {
  for (const step of ['after-credentials', 'after-organization']) {
    it(`restarts into an administrator that logs in with the file's secret (killed ${step})`, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-bootstrap-crash-'));
      dirs.push(dataDir);
      const crashed = await crashAt(dataDir, step);
      expect(crashed.signal, crashed.output).toBe('SIGKILL');

      const credsPath = join(dataDir, 'admin-credentials.json');
      expect((await stat(credsPath)).mode & 0o777).toBe(0o600);
      const written = JSON.parse(await readFile(credsPath, 'utf8')) as AdminCredentials;
      expect(crashed.output).not.toContain(written.accessSecret);

      const hub = await spawnHub({ HUB_DATA_DIR: dataDir });
      try {
        const creds = JSON.parse(await readFile(credsPath, 'utf8')) as AdminCredentials;
        // The restart finished the interrupted bootstrap with the identity already on disk.
        expect(creds).toEqual(written);
        expect((await stat(credsPath)).mode & 0o777).toBe(0o600);
        const admin = new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
        const orgs = await admin.ok<{ orgId: string; name: string }[]>('GET', '/admin/v1/organizations', {});
        // one bootstrap organization, the file's: the interrupted start left no orphan behind
        expect(orgs.data.map((o) => o.orgId)).toEqual([creds.orgId]);
        const made = await admin.ok<{ orgId: string }>('POST', '/admin/v1/organizations', {}, { name: 'after the crash' });
        expect(made.data.orgId).toMatch(/^o\d+$/);
        expect(hub.output()).not.toContain(creds.accessSecret);
      } finally {
        expect(await hub.stop('SIGTERM')).toBe(0);
      }
    }, 120_000);
  }
});
