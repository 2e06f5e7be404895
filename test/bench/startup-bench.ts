/**
 * The startup group of `npm run bench`: seconds from spawning to the hub's ready lines (its URLs
 * printed), for
 *   - `npm ci`'s build step (the root package's `prepare`, scripts/build-if-stale.mjs --after-install),
 *     timed alone, on a checkout as fresh as a clone: no compiled output, no build stamps (which `npm ci`
 *     empties with node_modules), no built console;
 *   - the first `npm start` after it, on an empty data directory: no code cache yet, the bootstrap (then
 *     again, `STARTUP_RESTARTS` times in all, each on a new data directory and without the code cache);
 *   - `npm start` restarted on that data directory (scripts/run.mjs finds nothing to build);
 *   - the package build alone (`scripts/build.ts`: every package, then the hub alone, which is what
 *     `npm start` rebuilds after an edit of the hub);
 *   - the compiled binary alone (`node hub/dist/bin/hub.js`, its launcher with V8's code cache), restarted;
 *   - the same bundle without the code cache (`node hub/dist/bin/hub.cjs`): what the cache saves;
 *   - the compiled binary on a new, empty data directory each time, and the CA's three key pairs
 *     generated alone: what the bootstrap of a first start adds to a restart, and its largest step;
 *   - the sources through the TypeScript loader (`node --import tsx hub/src/main.ts`), as `npm start`
 *     ran before the build step: what the build saves;
 *   - the peer: bare `node` loading fastify and aedes, listening on an HTTP and an MQTT port and
 *     printing a line (test/bench/startup-peer.ts, compiled like the hub): what Node and the two
 *     libraries the hub is built on cost before any hub code runs;
 *   - the same peer started by `npm start` (a package in .bench/npm-peer/ whose start script runs it):
 *     what npm itself adds to any `npm start`, the floor of the `npm start` rows.
 * Restarts are the median of `STARTUP_RESTARTS` (default 5). `BENCH_PROFILE=1` (or `=<dir>`) adds one profiled
 * start of the compiled binary and one of the sources (`node --cpu-prof`, kept in .bench/profiles/ or <dir>)
 * and writes where their CPU time went; with it, one profiled first start (no code cache, empty data directory). Writes the `bench:startup` section of docs/BENCHMARKS.md.
 *
 *   npm run bench -- startup
 *   BENCH_PROFILE=1 npm run bench -- startup
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { freeHubPorts, repoRoot } from '../src/index.js';
import { summarizeProfileFile, type ProfileShare } from './cpu-profile-summary.js';
import { describeMachine } from './machine.js';
import { clockTicks, cpuSeconds } from './mqtt-proc.js';
import { median } from './stats.js';

const DOC_PATH = join(repoRoot, 'docs', 'BENCHMARKS.md');
const START = '<!-- bench:startup:start -->';
const END = '<!-- bench:startup:end -->';
const HEADING = '## Start-up: `npm start` to ready';
const READY = /Health\s+http:\/\/|startup peer ready/;
const RESTARTS = Number(process.env['STARTUP_RESTARTS'] ?? 5);
const log = (msg: string) => console.error(`[bench:startup] ${msg}`);

/** Whose CPU time a start reports: the spawned process's own, or that of the node process under npm running `child`. */
type CpuOf = 'self' | { child: string };
const hubUnderNpm: CpuOf = { child: 'hub/dist/bin/hub.js' };

interface Start {
  ms: number;
  /** What the command printed up to its ready line. */
  output: string;
  /** CPU seconds of the node process that printed the line (not npm's), when it could be read. */
  cpuMs?: number;
}

/** Spawns `cmd` in a process group of its own, waits for the ready line, stops the group. */
async function timeStart(cmd: string, args: string[], dataDir: string, cpuOf: CpuOf): Promise<Start> {
  const env = {
    ...process.env,
    HUB_DATA_DIR: dataDir,
    ...freeHubPorts,
    LOG_LEVEL: 'warn',
  };
  const startedAt = performance.now();
  const child = spawn(cmd, args, { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 120 s:\n${out}`)), 120_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (READY.test(out)) {
        clearTimeout(timer);
        resolve(performance.now() - startedAt);
      }
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
  const ms = await ready;
  let cpuMs: number | undefined;
  const pid = cpuOf === 'self' ? child.pid! : nodeChildOf(child.pid!, cpuOf.child);
  if (pid !== undefined) cpuMs = cpuSeconds(pid, clockTicks()) * 1000;
  const exited = once(child, 'exit');
  process.kill(-child.pid!, 'SIGTERM');
  const kill = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 15_000);
  await exited;
  // npm may exit before its child: wait for the group to be gone.
  while (groupAlive(child.pid!)) await new Promise((r) => setTimeout(r, 50));
  clearTimeout(kill);
  return cpuMs === undefined ? { ms, output: out } : { ms, output: out, cpuMs };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The node process under `npm start` (npm → sh → node) whose command line has `pattern`, found in the process group. */
function nodeChildOf(pid: number, pattern: string): number | undefined {
  const r = spawnSync('pgrep', ['-f', '-g', String(pid), pattern], { encoding: 'utf8' });
  const pids = r.stdout
    .split('\n')
    .map(Number)
    .filter((n) => n > 0);
  // The node process itself, not the shell npm runs it through.
  return pids.find((p) => p !== pid && readComm(p) === 'node');
}

function readComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Milliseconds `cmd args` takes to run to its end, from the repository root. */
function timed(cmd: string, args: string[]): number {
  const started = performance.now();
  const r = spawnSync(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  return performance.now() - started;
}

/** The root package's `prepare` script: what `npm ci` runs at its end. */
function prepareScript(): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as unknown;
  const script = (pkg as { scripts?: Record<string, unknown> }).scripts?.['prepare'];
  if (typeof script !== 'string') throw new Error('package.json has no prepare script');
  return script;
}

/** A package whose `npm start` runs the peer: npm's own share of any `npm start`. */
async function npmPeerPackage(peerScript: string): Promise<string> {
  const dir = join(repoRoot, '.bench', 'npm-peer');
  await mkdir(dir, { recursive: true });
  const pkg = { name: 'npm-peer', private: true, scripts: { start: `node ${JSON.stringify(peerScript)}` } };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  return dir;
}

async function compilePeer(): Promise<string> {
  const outfile = join(repoRoot, '.bench', 'startup-peer.mjs');
  await build({
    entryPoints: [join(repoRoot, 'test', 'bench', 'startup-peer.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  return outfile;
}

async function restarts(cmd: string, args: string[], dataDir: string, cpuOf: CpuOf): Promise<Start[]> {
  const runs: Start[] = [];
  for (let i = 0; i < RESTARTS; i++) runs.push(await timeStart(cmd, args, dataDir, cpuOf));
  return runs;
}

type Summary = { totalMs: number; shares: ProfileShare[] };

/**
 * The key pairs a first start makes, with WebCrypto in this process: the embedded CA's (an RSA-2048
 * root, the RSA-2048 and EC P-256 issuing CAs: certificate-service/src/authority/generate.ts) and
 * the MQTT TLS listener's (RSA-2048 and EC P-256: hub/src/broker/server-certificate.ts). OpenSSL
 * makes them on libuv's thread pool, which the main thread's CPU profile shows as idle. `together`:
 * all at once, as the bootstrap makes them now; otherwise one after the other, as it did before.
 */
async function firstStartKeyPairsMs(together: boolean): Promise<number> {
  const { subtle } = globalThis.crypto;
  const rsa = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const ec = { name: 'ECDSA', namedCurve: 'P-256' };
  const pairs = [rsa, rsa, ec, ec, rsa];
  const started = performance.now();
  if (together) await Promise.all(pairs.map((alg) => subtle.generateKey(alg, true, ['sign', 'verify'])));
  else for (const alg of pairs) await subtle.generateKey(alg, true, ['sign', 'verify']);
  return performance.now() - started;
}

/** A profiled first start: the bundle without its code cache, on an empty data directory. */
async function profiledFirstStart(): Promise<Summary> {
  const fresh = await mkdtemp(join(tmpdir(), 'edgehub-bench-startup-fresh-'));
  try {
    return await profiled(['hub/dist/bin/hub.cjs'], fresh, 'first');
  } finally {
    await rm(fresh, { recursive: true, force: true });
  }
}

async function profiled(args: string[], dataDir: string, name: string): Promise<Summary> {
  const chosen = process.env['BENCH_PROFILE'];
  const dir = chosen && chosen !== '1' ? resolve(chosen) : join(repoRoot, '.bench', 'profiles');
  await mkdir(dir, { recursive: true });
  const file = `startup-${name}-${Date.now()}.cpuprofile`;
  await timeStart(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', file, ...args], dataDir, 'self');
  return summarizeProfileFile(join(dir, file));
}

const fmt = (ms: number) => (ms / 1000).toFixed(2);
const med = (runs: Start[]) => median(runs.map((r) => r.ms));
const medCpu = (runs: Start[]) => {
  const c = runs.map((r) => r.cpuMs).filter((x): x is number => x !== undefined);
  return c.length ? median(c) : NaN;
};

export async function runStartupBenchmarks(): Promise<void> {
  const loadStart = loadavg()[0] ?? NaN;
  const began = Date.now();
  const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-bench-startup-'));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  try {
    // 1. A fresh clone after npm ci's install: no compiled output, no build stamps, no console; an empty data directory.
    for (const dir of [
      'hub/dist',
      'certificate-service/dist',
      'edge/dist',
      'simulators/dist',
      'console/dist',
      'node_modules/.cache/edgehub-build',
    ])
      await rm(join(repoRoot, dir), { recursive: true, force: true });
    log("npm ci's build step (prepare)");
    const prepare = timed('sh', ['-c', prepareScript()]);
    log('first npm start after npm ci');
    // The first right after the build step; then again as often as the restarts, each with the state
    // npm ci leaves (the build, no code cache) and an empty data directory: the bootstrap's key
    // generation takes a random time, so one start alone says little.
    const firsts = [await timeStart(npm, ['start', '--silent'], dataDir, hubUnderNpm)];
    for (let i = 1; i < RESTARTS; i++) {
      await rm(join(repoRoot, 'hub', 'dist', 'bin', 'hub.cjs.v8-cache'), { force: true });
      const fresh = await mkdtemp(join(tmpdir(), 'edgehub-bench-startup-fresh-'));
      try {
        firsts.push(await timeStart(npm, ['start', '--silent'], fresh, hubUnderNpm));
      } finally {
        await rm(fresh, { recursive: true, force: true });
      }
    }
    for (const first of firsts) {
      if (/^build: /m.test(first.output)) throw new Error(`the first npm start after prepare built again:\n${first.output}`);
    }
    log('npm start restarts');
    const npmRestarts = await restarts(npm, ['start', '--silent'], dataDir, hubUnderNpm);
    log('compiled binary restarts');
    const compiled = await restarts(process.execPath, ['hub/dist/bin/hub.js'], dataDir, 'self');
    log('compiled binary on an empty data directory each time (bootstrap)');
    const bootstraps: Start[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      const fresh = await mkdtemp(join(tmpdir(), 'edgehub-bench-startup-fresh-'));
      try {
        bootstraps.push(await timeStart(process.execPath, ['hub/dist/bin/hub.js'], fresh, 'self'));
      } finally {
        await rm(fresh, { recursive: true, force: true });
      }
    }
    log("the first start's key pairs alone");
    // Alternated, so that both rows see the same load; each of 2 × RESTARTS, as a prime search takes a random time.
    const keysInTurn: number[] = [];
    const keysTogether: number[] = [];
    for (let i = 0; i < 2 * RESTARTS; i++) {
      keysInTurn.push(await firstStartKeyPairsMs(false));
      keysTogether.push(await firstStartKeyPairsMs(true));
    }
    log('compiled bundle without the code cache');
    const noCache = await restarts(process.execPath, ['hub/dist/bin/hub.cjs'], dataDir, 'self');
    log('source (tsx) restarts');
    const source = await restarts(process.execPath, ['--import', 'tsx', 'hub/src/main.ts'], dataDir, 'self');
    log('the build alone');
    const buildMs = timed(process.execPath, ['--import', 'tsx', 'scripts/build.ts']);
    const hubBuildMs = timed(process.execPath, ['--import', 'tsx', 'scripts/build.ts', 'hub']);
    // The build removed the code cache: one start writes it again, as the first start after a build does.
    await timeStart(process.execPath, ['hub/dist/bin/hub.js'], dataDir, 'self');
    log('peer restarts');
    const peerScript = await compilePeer();
    const peer = await restarts(process.execPath, [peerScript], dataDir, 'self');
    log('peer through npm start');
    const npmPeer = await restarts(npm, ['--prefix', await npmPeerPackage(peerScript), 'start', '--silent'], dataDir, {
      child: 'startup-peer.mjs',
    });
    let profiles: { compiled: Summary; first: Summary; source: Summary } | undefined;
    if (process.env['BENCH_PROFILE']) {
      log('profiles');
      profiles = {
        compiled: await profiled(['hub/dist/bin/hub.js'], dataDir, 'compiled'),
        first: await profiledFirstStart(),
        source: await profiled(['--import', 'tsx', 'hub/src/main.ts'], dataDir, 'source'),
      };
    }
    const section = render({
      prepare,
      firsts,
      npmRestarts,
      compiled,
      noCache,
      buildMs,
      hubBuildMs,
      source,
      peer,
      npmPeer,
      bootstraps,
      keysInTurn,
      keysTogether,
      profiles,
      loadStart,
      loadEnd: loadavg()[0] ?? NaN,
      seconds: (Date.now() - began) / 1000,
    });
    await writeSection(section);
    console.log(section);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

interface Results {
  prepare: number;
  firsts: Start[];
  npmRestarts: Start[];
  compiled: Start[];
  noCache: Start[];
  buildMs: number;
  hubBuildMs: number;
  source: Start[];
  peer: Start[];
  npmPeer: Start[];
  profiles: { compiled: Summary; first: Summary; source: Summary } | undefined;
  bootstraps: Start[];
  keysInTurn: number[];
  keysTogether: number[];
  loadStart: number;
  loadEnd: number;
  seconds: number;
}

function render(r: Results): string {
  const m = describeMachine();
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).stdout.trim();
  const peer = med(r.peer);
  const row = (name: string, runs: Start[]) =>
    `| ${name} | ${runs.map((x) => fmt(x.ms)).join(' / ')} | **${fmt(med(runs))}** | ${Number.isFinite(medCpu(runs)) ? fmt(medCpu(runs)) : '–'} | ${(med(runs) / peer).toFixed(2)}× |`;
  const lines = [
    `_Written by \`npm run bench -- startup\` (test/bench/startup-bench.ts); everything between the \`bench:startup\` markers is replaced on the next run._`,
    '',
    `- **Command:** \`BENCH_PROFILE=1 npm run bench -- startup\` (it took ${r.seconds.toFixed(0)} s; without \`BENCH_PROFILE=1\` no profiles)`,
    `- **Date:** ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- **Machine:** ${m.nproc} CPUs, ${m.cpuModel}, Node ${m.node}; 1-minute load average **${r.loadStart.toFixed(2)} at the start, ${r.loadEnd.toFixed(2)} at the end**; commit ${commit}`,
    "- **What is timed:** from spawning the command to the hub printing its `Health` URL (the last of its ready lines), then the process group is stopped; the build rows, from spawning the build to its end. Role `all`, embedded stores, every listener on an ephemeral port, `LOG_LEVEL=warn`. CPU is utime + stime of the node process that printed the line (not npm's), from `/proc/<pid>/stat` at that moment.",
    "- **Peer:** test/bench/startup-peer.ts, compiled to plain JavaScript like the hub: `node` imports fastify and aedes, listens with one HTTP route and one MQTT listener on ephemeral ports and prints its line. It is the floor for a Node process built on the same two libraries: Node's own start, loading them, two listeners.",
    '',
    '| How | each run, s | median, s | CPU, s (median) | ÷ peer |',
    '|---|---|---:|---:|---:|',
    `| \`npm ci\`'s build step alone (\`prepare\`: \`${prepareScript()}\`, every package and the console, on a fresh checkout) | ${fmt(r.prepare)} | **${fmt(r.prepare)}** | – | ${(r.prepare / peer).toFixed(2)}× |`,
    row(
      '**first `npm start` after `npm ci`** (nothing to build; no code cache yet; bootstrap on an empty data directory; the first right after the build step, then each after removing the code cache)',
      r.firsts,
    ),
    row('`npm start`, restart (nothing to build)', r.npmRestarts),
    row('`node hub/dist/bin/hub.js`, restart (compiled, no npm; V8 code cache)', r.compiled),
    row('`node hub/dist/bin/hub.cjs`, restart (the same bundle without the code cache)', r.noCache),
    row('`node hub/dist/bin/hub.js`, each on an empty data directory (code cache present): the bootstrap', r.bootstraps),
    keysRow('one after the other (before)', r.keysInTurn, peer),
    keysRow("all at once (the bootstrap now: the CA begun before the stores, the server pairs beside the CA's)", r.keysTogether, peer),
    row('`node --import tsx hub/src/main.ts`, restart (before: the sources through the TypeScript loader)', r.source),
    `| the package build alone (\`node --import tsx scripts/build.ts\`: esbuild, every package; part of the \`prepare\` row) | ${fmt(r.buildMs)} | **${fmt(r.buildMs)}** | – | ${(r.buildMs / peer).toFixed(2)}× |`,
    `| the hub package alone (\`scripts/build.ts hub\`: what \`npm start\` rebuilds after an edit of the hub) | ${fmt(r.hubBuildMs)} | **${fmt(r.hubBuildMs)}** | – | ${(r.hubBuildMs / peer).toFixed(2)}× |`,
    row('peer: `node` + fastify + aedes hello', r.peer),
    row('peer through `npm start` (.bench/npm-peer/: a package whose start script runs the peer)', r.npmPeer),
    '',
    `npm's own share of an \`npm start\`, in this run: the peer through npm − the peer = **${fmt(med(r.npmPeer) - peer)} s**; \`npm start\` − \`node hub/dist/bin/hub.js\` (restarts) = **${fmt(med(r.npmRestarts) - med(r.compiled))} s** (npm, its shell, and scripts/run.mjs's stale check in the hub's own process).`,
  ];
  if (r.profiles) {
    const top = (p: { totalMs: number; shares: ProfileShare[] }) =>
      p.shares
        .filter((s) => s.where !== '(idle)')
        .slice(0, 12)
        .map((s) => `${s.where} ${s.ms.toFixed(0)}`)
        .join(', ');
    const idle = (p: Summary) => p.shares.find((s) => s.where === '(idle)')?.ms ?? 0;
    lines.push(
      '',
      '### Where start-up time goes',
      '',
      'Self time by where the code lives, from one profiled start each (`node --cpu-prof`, summarized by test/bench/cpu-profile-summary.ts; profiles in .bench/profiles/), in ms of the profile (wall-clock sampling: on a busy machine every figure stretches alike), idle left out:',
      '',
      `- **compiled** (\`node hub/dist/bin/hub.js\`, profile span ${r.profiles.compiled.totalMs.toFixed(0)} ms): ${top(r.profiles.compiled)}`,
      `- **first start** (\`node hub/dist/bin/hub.cjs\` on an empty data directory: no code cache, the bootstrap; profile span ${r.profiles.first.totalMs.toFixed(0)} ms, of which idle ${idle(r.profiles.first).toFixed(0)} ms: the main thread waiting, mostly for the CA's key generation on the thread pool): ${top(r.profiles.first)}`,
      `- **sources through tsx** (before, profile span ${r.profiles.source.totalMs.toFixed(0)} ms): ${top(r.profiles.source)}`,
    );
  }
  lines.push('', ...notes);
  return lines.join('\n');
}

function keysRow(how: string, ms: number[], peer: number): string {
  const name = `the first start's key pairs alone (CA: 2 × RSA-2048 + EC P-256; MQTT TLS listener: RSA-2048 + EC P-256; WebCrypto), ${how}`;
  return `| ${name} | ${ms.map(fmt).join(' / ')} | **${fmt(median(ms))}** | – | ${(median(ms) / peer).toFixed(2)}× |`;
}

/** What was changed for this row and what is left, written under the figures on every run. */
const notes = [
  '### What the start does, and what is left',
  '',
  "Profiles of the compiled start before the earlier work on this row (2.35 s to ready, 1.6 s CPU under load 9) put about half of it in Node loading about a thousand npm files (resolving, reading, wrapping each; fastify's plugin naming also walked the whole `require.cache` once per plugin) and the rest in compiling that code, signing three CRLs and building the OpenAPI plugins. In order of what each saved:",
  '',
  '1. **npm dependencies compiled into the bundle** (scripts/build.ts, `bundleNpm`): the hub and the certificate service are one file each; only native addons, packages that read their own files, and the cluster/MongoDB drivers stay in node_modules (`keepExternal`). CPU to ready about −25 %.',
  '2. **V8 code cache** (scripts/code-cache.ts): `hub/dist/bin/hub.js` is a launcher that runs the CommonJS bundle `hub.cjs` through `vm.Script` with the cache `hub.cjs.v8-cache` written after the first start; parsing and compiling what the previous start compiled is skipped. Node 20 has no `module.enableCompileCache` (22.1+), hence the launcher. The `hub.cjs` row above is the same bundle without it: the difference is what the cache saves. The first start after a build writes the cache (at a clean exit, or 5 s after start; not at the exit of `--help`, `--version` or a start that failed, whose cache would hold little more than the top level); a folder the process cannot write (a read-only image) only means no cache.',
  '3. **/docs built on its first request** (hub/src/api/lazy-docs.ts): @fastify/swagger, swagger-ui and their YAML library are no longer loaded, nor their hooks run on every route, at start.',
  '4. **CRLs signed on their first request** (certificate-service/src/crl.ts), not during the start of the hub (embedded CA) or the certificate service.',
  "5. **The build belongs to `npm ci`** (root package.json, `prepare`; scripts/build-if-stale.mjs `--after-install`): npm runs the root package's `prepare` script at the end of `npm ci` and `npm install`, the place npm gives a checkout's build step. It compiles every package and the console there, so the first `npm start` finds a current build and only starts (before, that start ran the whole build first: 5.71 s on a quiet machine, of which the build 2.91 s). `npm ci --ignore-scripts` skips it and the first start builds instead; the Dockerfile installs its dependencies before copying the sources, so the step finds no sources there and builds nothing (the image builds in its own later step, as before).",
  '6. **No second node process before each start** (scripts/run.mjs): `npm start` was npm running a `prestart` script (a shell and a node process that compared modification times) and then the hub. `npm start` now runs `node scripts/run.mjs hub/dist/bin/hub.js`: the same process checks the build and then imports the entry point, with `process.argv` as `node hub/dist/bin/hub.js` has it. The check reads the stamp scripts/build.ts writes per package (node_modules/.cache/edgehub-build/<package>.json: when its build began, the files esbuild read, the entry points written) and stats exactly those files, and it checks only the packages the command runs: an edit of the edge no longer rebuilds the hub before `npm start`, and an edit of the hub rebuilds the hub package alone (its own row), not all four.',
  "7. **The first start's bootstrap overlapped, and its stores created in fewer commits** (hub/src/hub.ts, certificate-service/src/authority/generate.ts, hub/src/broker/server-certificate.ts, hub/src/store/embedded/store.ts). A first start makes five key pairs: the embedded CA's RSA-2048 root, RSA-2048 and EC P-256 issuing CAs, and the MQTT TLS listener's RSA-2048 and EC P-256 pairs. They were made one after the other, the listener's only once the broker was being built, while the main thread waited. Now the hub begins its certificate service (the CA) and the listener's certificates before it opens its stores, and awaits them just before the broker: the CA's three pairs and the listener's two are made at the same time on libuv's thread pool while the main thread opens the registry and telemetry stores; the root still signs before the issuing CAs, the listener's certificates are issued once the CA is there, nothing listens before both are done, and a start that fails on either side fails with that side's error and closes the certificate service again (hub/test/hub-start-order.test.ts); a first start killed (-9) while the CA's or the listener's keys are written restarts into a whole CA (test/integration/first-start-crash.test.ts). The embedded store opened each collection with one `openDB` per sub-database, and lmdb-js runs each as a write transaction of its own, which LMDB commits with a sync; then a further transaction recorded the collection's indexes. A collection is now opened in one write transaction (its sub-databases, the index check, the record when it changed), the telemetry store's seven sub-databases in one, and a collection reopened with the spec it had writes nothing: `strace -f -c -e trace=fsync,fdatasync` counts 77 syncs on a first start instead of 185, and 3 on a restart instead of 40. Same sub-databases, names and records on disk: existing data directories open unchanged (hub/test/embedded-store-open.test.ts covers a refused open leaving nothing behind). Alternating the compiled start before and after on an empty data directory, 11 runs each under load 3: median 1.57 s before, 1.24 s after; restarts 0.61 s and 0.46 s.",
  '',
  "What is left. **Restarts:** the `npm start` restart row is the compiled row plus npm: the peer-through-npm row measures what npm itself adds to any `npm start` (starting npm's own JavaScript and the shell it runs a script in), which no change in this repository can remove while the README says `npm start`; the stale check itself is a few hundred `stat` calls inside the hub's process. The compiled start is, by its profile, Node's own start-up (the peer pays the same), fastify route registration (find-my-way, avvio: a few hundred routes), loading and parsing the CA's certificates (@peculiar/x509, asn1js) for the TLS listener, and opening the embedded stores (lmdb).",
  '',
  "**The first start after `npm ci`** differs from a restart in two ways, each with its own row: no code cache yet (the `hub.cjs` row against the `hub.js` row), and the bootstrap of an empty data directory (the empty-data-directory row against the `hub.js` restart row). Before item 7, in a run of this bench on this machine under load 1.8 (commit 6965313): first start 1.78 s (6.2× the peer), the bootstrap row 1.28 s against 0.49 s for a compiled restart. The bootstrap's critical path is now the key generation: the two key-pair rows time the five pairs alone, one after the other and all at once, and on two cores three RSA prime searches at once take about one and a half times one of them (each search takes a random time: 0.1–0.3 s on a quiet machine), while the main thread finishes opening the stores and then waits (the first-start profile's idle share). After the CA come loading and checking its certificates (@peculiar/x509, asn1js: the `loadCa` frames), issuing the listener's two certificates, and the same wiring and route registration as a restart. What is left of the difference is that generation, which RSA-2048 keys for the root and the RSA issuing CA need (devices verify the hub with RSA, see certificate-service/src/authority/generate.ts), and the code cache. A cache made without running the hub was measured for `npm ci`'s build step: V8's `createCachedData` right after compiling the bundle covers only the code compiled so far, the top level (1.3 MB against 3.6 MB after a start), and saved about 0.11 s of the 0.25 s that the cache written by a first start saves (9 restarts each, load 3: 0.80 s without a cache, 0.69 s with the compile-only one, 0.55 s with the full one); compiling every function eagerly (`--no-lazy`) changes V8's flags, so the runtime rejects that cache. The launcher writes the full cache only when it finds none, so a compile-only cache from `npm ci` would also have to be replaced after the first start; with the row under its target without it, it is not done.",
  '',
  "**The build** (the `prepare` row, now part of `npm ci`) is esbuild's own work: the hub's and the certificate service's bundles each compile about 1,100 npm and workspace files into one file with a source map. Building the hub's bundle by hand with and without its source map (under load 5: 1.4–1.9 s without, 2.0–3.7 s with) puts about a third of it in the map; the maps stay, because the CPU-profile summaries of every benchmark read them to name the package each compiled-in frame came from. The `prepare` row also includes the web console's Vite build and one `node --import tsx` start per builder.",
];

async function writeSection(section: string): Promise<void> {
  const block = `${START}\n${section}\n${END}`;
  if (!existsSync(DOC_PATH)) throw new Error(`${DOC_PATH} is missing`);
  let doc = await readFile(DOC_PATH, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  doc =
    start >= 0 && end > start ? doc.slice(0, start) + block + doc.slice(end + END.length) : `${doc.trimEnd()}\n\n${HEADING}\n\n${block}\n`;
  await writeFile(DOC_PATH, doc);
}
