import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@edgehub/hub';
import { i18n, repoRoot, spawnHub, type AdminCredentials } from '../src/index.js';

/** `npm start` on a fresh data directory: embedded store, bootstrap admin, OpenAPI, clean stop. */
describe('the hub binary', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edgehub-start-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts with no external server, bootstraps an admin without logging its secret, and keeps data across restarts', async () => {
    const first = await spawnHub({ HUB_DATA_DIR: dataDir });
    let productKey: string;
    let creds: AdminCredentials;
    try {
      const credsPath = join(dataDir, 'admin-credentials.json');
      expect((await stat(credsPath)).mode & 0o777).toBe(0o600);
      creds = JSON.parse(await readFile(credsPath, 'utf8')) as AdminCredentials;
      expect(creds.accessSecret.length).toBeGreaterThanOrEqual(32);
      expect(first.output()).toContain('store: embedded');
      expect(first.output()).toContain('/docs');

      const admin = new ApiClient({ baseUrl: first.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
      const p = await admin.connect<string>(
        creds.orgId,
        'POST',
        'products',
        'create',
        {},
        { productName: i18n('persisted'), productType: 'Device', dataFormat: 'Json', biDirectionalAuth: false },
      );
      expect(p.code).toBe(0);
      productKey = p.data;
      const d = await admin.connect<{ deviceSecret: string }>(
        creds.orgId,
        'POST',
        'devices',
        'create',
        {},
        { productKey, deviceKey: 'd1', timezone: '+00:00', deviceName: i18n('d1') },
      );
      expect(d.code).toBe(0);
      // a failing call gets logged as nothing secret either
      await new ApiClient({ baseUrl: first.baseUrl, accessKey: creds.accessKey, accessSecret: 'wrong' })
        .accessToken()
        .catch(() => undefined);

      const doc = (await (await fetch(`${first.baseUrl}/docs/json`)).json()) as {
        openapi: string;
        paths: Record<string, Record<string, unknown>>;
      };
      expect(doc.openapi).toMatch(/^3\./);
      const paths = Object.keys(doc.paths);
      // One path per Connection Service resource, the actions in it (test/integration/openapi.test.ts).
      for (const p of [
        '/connect-service/v2.1/devices',
        '/connect-service/v2.1/products',
        '/connect-service/v2.1/device-topos',
        '/apim-token-service/v2.0/token/get',
        '/admin/v1/organizations',
      ]) {
        expect(paths).toContain(p);
      }
      expect(paths.some((p) => p.includes('/v2.0/devices'))).toBe(false);
      const ui = await fetch(`${first.baseUrl}/docs`, { redirect: 'follow' });
      expect(ui.status).toBe(200);
      expect(await ui.text()).toMatch(/swagger/i);

      expect(first.output()).not.toContain(creds.accessSecret);
      expect(first.output()).not.toContain(d.data.deviceSecret);
    } finally {
      expect(await first.stop('SIGTERM')).toBe(0);
    }

    const second = await spawnHub({ HUB_DATA_DIR: dataDir });
    try {
      const again = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
      expect(again).toEqual(creds);
      const admin = new ApiClient({ baseUrl: second.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
      const got = await admin.connect<{ deviceKey: string }>(creds.orgId, 'GET', 'devices', 'get', { productKey, deviceKey: 'd1' });
      expect(got.data.deviceKey).toBe('d1');
      expect(second.output()).not.toContain('bootstrap organization and administrator created');
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
  });

  it('refuses a bad configuration with a message naming the variable', async () => {
    await expect(spawnHub({ HUB_DATA_DIR: dataDir, HUB_HTTP_PORT: 'eighty' }, 15_000)).rejects.toThrow(/HUB_HTTP_PORT must be an integer/);
  });

  it('answers --help and --version without starting, and refuses an unknown argument before creating anything', () => {
    const dir = join(dataDir, 'never-created');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['hub/dist/bin/hub.js', ...args], {
        cwd: repoRoot,
        env: { ...process.env, HUB_DATA_DIR: dir },
        encoding: 'utf8',
        timeout: 20_000,
      });
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: hub');
    expect(help.stdout).toContain('docs/CONFIGURATION.md');
    const version = run('--version');
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const unknown = run('--port', '9000');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--port'");
    expect(run('start').status).toBe(2);
    expect(existsSync(dir)).toBe(false);
  });
});
