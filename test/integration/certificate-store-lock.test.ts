import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCertificateService, spawnHub, type SpawnedHub } from '../src/index.js';

/**
 * Issue 9 item 8: one embedded certificate store, one process. A second certificate service or
 * all-in-one hub on the same data directory refuses to start and names the holder; a lock left by
 * a process killed with SIGKILL is taken over by the next start on the same host.
 */
const secret = 'lock-test-shared-secret-0123456789abcdef';

describe('one process per embedded certificate store', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  const hubs: SpawnedHub[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgehub-certlock-'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const h of hubs) await h.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('a second standalone certificate service on the same data dir exits with store.locked naming the first', async () => {
    const data = join(dir, 'service');
    const first = spawnCertificateService({ dataDir: data, sharedSecret: secret });
    children.push(first.child);
    await first.started;
    expect((await readFile(join(data, 'certificates.lock'), 'utf8')).trim()).toBe(`${first.child.pid}@${hostname()}`);

    const second = spawnCertificateService({ dataDir: data, sharedSecret: secret });
    children.push(second.child);
    const { code, output } = await second.exited;
    expect(code).not.toBe(0);
    expect(output).toMatch(/store\.locked/);
    expect(output).toContain(`in use by process ${first.child.pid} on ${hostname()}`);
    // the first one is untouched and still serves
    expect(first.child.exitCode).toBeNull();

    // a clean stop releases the lock
    first.child.kill('SIGTERM');
    await first.exited;
    await expect(readFile(join(data, 'certificates.lock'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  }, 120_000);

  it('a second all-in-one hub on the same data dir refuses to start; after the first is killed -9, a new one takes the stale lock over', async () => {
    const data = join(dir, 'hub');
    const first = await spawnHub({ HUB_DATA_DIR: data }, 60_000);
    hubs.push(first);
    const lockPath = join(data, 'certificates', 'certificates.lock');
    expect((await readFile(lockPath, 'utf8')).trim()).toBe(`${first.child.pid}@${hostname()}`);

    const refused = await spawnHub({ HUB_DATA_DIR: data }, 60_000).then(
      (h) => {
        hubs.push(h);
        return undefined;
      },
      (err: unknown) => String(err),
    );
    expect(refused).toBeDefined();
    expect(refused).toMatch(/store\.locked|in use by process/);
    expect(refused).toContain(`process ${first.child.pid}`);

    await first.stop('SIGKILL');
    // the dead process's lock is still on disk …
    expect((await readFile(lockPath, 'utf8')).trim()).toBe(`${first.child.pid}@${hostname()}`);
    // … and is taken over
    const next = await spawnHub({ HUB_DATA_DIR: data }, 60_000);
    hubs.push(next);
    expect((await readFile(lockPath, 'utf8')).trim()).toBe(`${next.child.pid}@${hostname()}`);
    expect((await fetch(`${next.baseUrl}/health`)).status).toBe(200);
  }, 180_000);
});
