import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../src/spawn-hub.js';

/**
 * What runs before a start (README, "Two commands"; docs/BENCHMARKS.md, "Start-up"): `npm ci` builds at
 * its end (`prepare`), and `npm start` (scripts/run.mjs) rebuilds only what it runs and only when a
 * source it was built from changed since, then runs the entry point in the same process.
 *
 * The rebuild decisions are checked in a sandbox holding the real scripts/run.mjs and
 * scripts/build-if-stale.mjs, with a stand-in for the compiler that logs what it was asked to build
 * (a real build here would replace dist/ folders other test files are running); the real build and
 * its stamps are checked on the repository itself, which the tests' global setup has just built.
 */
const node = (args: string[], cwd: string) => spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });

/** Stands in for scripts/build.ts: logs the packages it is asked for, writes an entry point and a stamp for each. */
const fakeBuild = `import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
const startedAt = Date.now();
const pkgs = process.argv.slice(2);
appendFileSync('built.log', pkgs.join(' ') + '\\n');
for (const p of pkgs) {
  mkdirSync(p + '/dist/bin', { recursive: true });
  writeFileSync(p + '/dist/bin/' + p + '.js', 'process.stdout.write(JSON.stringify(process.argv.slice(1)));\\n');
  mkdirSync('node_modules/.cache/edgehub-build', { recursive: true });
  const stamp = { startedAt, inputs: [p + '/src/main.ts'], outputs: [p + '/dist/bin/' + p + '.js'] };
  writeFileSync('node_modules/.cache/edgehub-build/' + p + '.json', JSON.stringify(stamp));
}
`;
const fakeConsoleBuild = `import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
appendFileSync('built.log', 'console\\n');
mkdirSync('console/dist', { recursive: true });
writeFileSync('console/dist/.build-stamp', 'built\\n');
`;

describe('building before a start', () => {
  let sandbox: string;
  const built = async () => (await readFile(join(sandbox, 'built.log'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  const start = (entry: string, ...args: string[]) => {
    const r = node(['scripts/run.mjs', entry, ...args], sandbox);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as string[];
  };
  const dryRun = (...packages: string[]) => {
    const r = node(['scripts/build-if-stale.mjs', '--dry-run', ...packages], sandbox);
    expect(r.status).toBe(0);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    // Inside the repository, so that `node --import tsx` finds tsx in its node_modules.
    await mkdir(join(repoRoot, 'test', 'output'), { recursive: true });
    sandbox = await mkdtemp(join(repoRoot, 'test', 'output', 'build-if-stale-'));
    await mkdir(join(sandbox, 'scripts'));
    await mkdir(join(sandbox, 'console', 'scripts'), { recursive: true });
    await writeFile(join(sandbox, 'package.json'), '{ "type": "module" }\n');
    for (const f of ['run.mjs', 'build-if-stale.mjs']) await copyFile(join(repoRoot, 'scripts', f), join(sandbox, 'scripts', f));
    await writeFile(join(sandbox, 'scripts', 'build.ts'), fakeBuild);
    await writeFile(join(sandbox, 'console', 'scripts', 'build-if-stale.ts'), fakeConsoleBuild);
    for (const p of ['hub', 'certificate-service', 'edge', 'simulators']) {
      await mkdir(join(sandbox, p, 'src'), { recursive: true });
      await writeFile(join(sandbox, p, 'src', 'main.ts'), 'export {};\n');
    }
  });
  afterAll(async () => {
    await rm(sandbox, { recursive: true, force: true });
  });

  it('builds what `npm start` runs on its first start without a build, then runs it as `node <entry>` would', async () => {
    expect(dryRun()).toBe(
      [
        'hub: not built since the last install',
        'certificate-service: not built since the last install',
        'edge: not built since the last install',
        'simulators: not built since the last install',
        'console: stale',
      ].join('\n'),
    );
    expect(start('hub/dist/bin/hub.js', 'an-argument', '--a-flag')).toEqual([
      join(sandbox, 'hub/dist/bin/hub.js'),
      'an-argument',
      '--a-flag',
    ]);
    expect(await built()).toEqual(['hub', 'console']);
  });

  it('builds nothing when nothing changed', async () => {
    expect(dryRun('hub')).toBe('');
    start('hub/dist/bin/hub.js');
    expect(await built()).toEqual(['hub', 'console']);
  });

  it('rebuilds after a source edit, only the package built from it', async () => {
    await writeFile(join(sandbox, 'hub', 'src', 'main.ts'), 'export const edited = true;\n');
    await writeFile(join(sandbox, 'edge', 'src', 'main.ts'), 'export const edited = true;\n');
    expect(dryRun('hub', 'edge')).toBe('hub: hub/src/main.ts changed\nedge: not built since the last install');
    start('hub/dist/bin/hub.js');
    expect(await built()).toEqual(['hub', 'console', 'hub']);
    start('edge/dist/bin/edge.js');
    expect(await built()).toEqual(['hub', 'console', 'hub', 'edge']);
    await writeFile(join(sandbox, 'edge', 'src', 'main.ts'), 'export const editedAgain = true;\n');
    start('hub/dist/bin/hub.js');
    expect(await built()).toEqual(['hub', 'console', 'hub', 'edge']);
  });

  it('rebuilds when a compiled file was deleted, or a source the build read is gone', async () => {
    await rm(join(sandbox, 'hub', 'dist', 'bin', 'hub.js'));
    expect(dryRun('hub')).toBe('hub: hub/dist/bin/hub.js is missing');
    start('hub/dist/bin/hub.js');
    await rm(join(sandbox, 'edge', 'src', 'main.ts'));
    expect(dryRun('edge')).toBe('edge: edge/src/main.ts is gone');
    expect(await built()).toEqual(['hub', 'console', 'hub', 'edge', 'hub']);
  });
});

describe("npm ci's build step", () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

  it('is the root package’s `prepare`, which builds every package and the console when stale', () => {
    expect(pkg.scripts['prepare']).toBe('node scripts/build-if-stale.mjs --after-install');
  });

  it('succeeds in the Dockerfile’s dependency stage, where the sources are not copied yet, and builds nothing there', async () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').split('\n');
    const install = dockerfile.findIndex((l) => /^RUN npm ci\b/.test(l));
    expect(install).toBeGreaterThan(0);
    const stage = await mkdtemp(join(tmpdir(), 'docker-deps-stage-'));
    try {
      // What the image holds when its `npm ci` runs: the files COPY'd before it, at their places.
      for (const line of dockerfile.slice(0, install)) {
        const m = /^COPY (\S+(?: \S+)*) (\S+)$/.exec(line);
        if (!m) continue;
        const [sources, target] = [m[1]!.split(' '), m[2]!];
        for (const src of sources) {
          const to = target.endsWith('/') ? join(stage, target, src.split('/').pop()!) : join(stage, target === './' ? src : target);
          await mkdir(dirname(to), { recursive: true });
          await copyFile(join(repoRoot, src), to);
        }
      }
      const r = spawnSync('sh', ['-c', pkg.scripts['prepare']!], { cwd: stage, encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('nothing to build');
      expect(spawnSync('find', [stage, '-name', 'dist'], { encoding: 'utf8' }).stdout).toBe('');
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  });
});

describe('the real build', () => {
  const stamp = (pkg: string) =>
    JSON.parse(readFileSync(join(repoRoot, 'node_modules', '.cache', 'edgehub-build', `${pkg}.json`), 'utf8')) as {
      inputs: string[];
      outputs: string[];
    };

  it('is current right after the tests’ global setup built it: a start builds nothing', () => {
    const r = node(['scripts/build-if-stale.mjs', '--dry-run'], repoRoot);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('records, per package, the sources it read and the entry points it wrote', () => {
    const hub = stamp('hub');
    expect(hub.inputs).toEqual(
      expect.arrayContaining(['hub/src/main.ts', 'package-lock.json', 'scripts/build.ts', 'scripts/code-cache.ts']),
    );
    expect(hub.inputs.some((i) => i.startsWith('shared/src/'))).toBe(true);
    expect(hub.inputs.filter((i) => i.includes('node_modules'))).toEqual([]);
    expect(hub.outputs).toEqual(['hub/dist/bin/hub.js', 'hub/dist/bin/cli.js', 'hub/dist/bin/cluster.js']);
    // An edit to the hub's entry point does not rebuild the edge, which does not run it.
    expect(stamp('edge').inputs).not.toContain('hub/src/main.ts');
    expect(stamp('edge').inputs).toContain('edge/src/main.ts');
  });
});
