/**
 * The startup group of `npm run bench`: seconds from spawning to the hub's ready lines (its URLs
 * printed), for
 *   - `npm start` right after a clean build (compiled output and build stamp removed, as after
 *     `npm ci`) on an empty data directory: the build, then the first start with its bootstrap;
 *   - `npm start` restarted on that data directory (the stale check finds nothing to build);
 *   - the compiled binary alone (`node hub/dist/bin/hub.js`, its launcher with V8's code cache), restarted;
 *   - the same bundle without the code cache (`node hub/dist/bin/hub.cjs`): what the cache saves;
 *   - the sources through the TypeScript loader (`node --import tsx hub/src/main.ts`), as `npm start`
 *     ran before the build step: what the build saves;
 *   - the peer: bare `node` loading fastify and aedes, listening on an HTTP and an MQTT port and
 *     printing a line (test/bench/startup-peer.ts, compiled like the hub): what Node and the two
 *     libraries the hub is built on cost before any hub code runs.
 * Restarts are the median of `STARTUP_RESTARTS` (default 5). `BENCH_PROFILE=1` (or `=<dir>`) adds one profiled
 * start of the compiled binary and one of the sources (`node --cpu-prof`, kept in .bench/profiles/ or <dir>)
 * and writes where their CPU time went. Writes the `bench:startup` section of docs/BENCHMARKS.md.
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
import { repoRoot } from '../src/index.js';
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

interface Start {
  ms: number;
  /** CPU seconds of the node process that printed the line (not npm's), when it could be read. */
  cpuMs?: number;
}

/** Spawns `cmd` in a process group of its own, waits for the ready line, stops the group. */
async function timeStart(cmd: string, args: string[], dataDir: string, cpuOf: 'self' | 'child'): Promise<Start> {
  const env = {
    ...process.env,
    HUB_DATA_DIR: dataDir,
    HUB_HTTP_PORT: '0',
    HUB_MQTT_PORT: '0',
    HUB_MQTTS_PORT: '0',
    HUB_MQTT_WS_PORT: '0',
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
  const pid = cpuOf === 'self' ? child.pid! : nodeChildOf(child.pid!);
  if (pid !== undefined) cpuMs = cpuSeconds(pid, clockTicks()) * 1000;
  const exited = once(child, 'exit');
  process.kill(-child.pid!, 'SIGTERM');
  const kill = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 15_000);
  await exited;
  // npm may exit before its child: wait for the group to be gone.
  while (groupAlive(child.pid!)) await new Promise((r) => setTimeout(r, 50));
  clearTimeout(kill);
  return cpuMs === undefined ? { ms } : { ms, cpuMs };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The node process under `npm start` (npm → sh → node), found in the process group. */
function nodeChildOf(pid: number): number | undefined {
  const r = spawnSync('pgrep', ['-f', '-g', String(pid), 'hub/dist/bin/hub.js'], { encoding: 'utf8' });
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

async function restarts(cmd: string, args: string[], dataDir: string, cpuOf: 'self' | 'child'): Promise<Start[]> {
  const runs: Start[] = [];
  for (let i = 0; i < RESTARTS; i++) runs.push(await timeStart(cmd, args, dataDir, cpuOf));
  return runs;
}

async function profiled(args: string[], dataDir: string, name: string): Promise<{ totalMs: number; shares: ProfileShare[] }> {
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
    // 1. As after `npm ci`: no compiled output, no stamp; an empty data directory.
    for (const pkg of ['hub', 'certificate-service', 'edge', 'simulators'])
      await rm(join(repoRoot, pkg, 'dist'), { recursive: true, force: true });
    await rm(join(repoRoot, 'node_modules', '.edgehub-build-stamp'), { force: true });
    log('first npm start after a clean build');
    const first = await timeStart(npm, ['start', '--silent'], dataDir, 'child');
    log('npm start restarts');
    const npmRestarts = await restarts(npm, ['start', '--silent'], dataDir, 'child');
    log('compiled binary restarts');
    const compiled = await restarts(process.execPath, ['hub/dist/bin/hub.js'], dataDir, 'self');
    log('compiled bundle without the code cache');
    const noCache = await restarts(process.execPath, ['hub/dist/bin/hub.cjs'], dataDir, 'self');
    log('source (tsx) restarts');
    const source = await restarts(process.execPath, ['--import', 'tsx', 'hub/src/main.ts'], dataDir, 'self');
    log('the build alone');
    const buildStarted = performance.now();
    const built = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: repoRoot, stdio: 'ignore' });
    if (built.status !== 0) throw new Error(`scripts/build.ts exited with ${built.status}`);
    const buildMs = performance.now() - buildStarted;
    // The build removed the code cache: one start writes it again, as the first start after a build does.
    await timeStart(process.execPath, ['hub/dist/bin/hub.js'], dataDir, 'self');
    log('peer restarts');
    const peerScript = await compilePeer();
    const peer = await restarts(process.execPath, [peerScript], dataDir, 'self');
    let profiles:
      { compiled: { totalMs: number; shares: ProfileShare[] }; source: { totalMs: number; shares: ProfileShare[] } } | undefined;
    if (process.env['BENCH_PROFILE']) {
      log('profiles');
      profiles = {
        compiled: await profiled(['hub/dist/bin/hub.js'], dataDir, 'compiled'),
        source: await profiled(['--import', 'tsx', 'hub/src/main.ts'], dataDir, 'source'),
      };
    }
    const section = render({
      first,
      npmRestarts,
      compiled,
      noCache,
      buildMs,
      source,
      peer,
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
  first: Start;
  npmRestarts: Start[];
  compiled: Start[];
  noCache: Start[];
  buildMs: number;
  source: Start[];
  peer: Start[];
  profiles: { compiled: { totalMs: number; shares: ProfileShare[] }; source: { totalMs: number; shares: ProfileShare[] } } | undefined;
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
    "- **What is timed:** from spawning the command to the hub printing its `Health` URL (the last of its ready lines), then the process group is stopped. Role `all`, embedded stores, every listener on an ephemeral port, `LOG_LEVEL=warn`. CPU is utime + stime of the node process that printed the line (not npm's), from `/proc/<pid>/stat` at that moment.",
    "- **Peer:** test/bench/startup-peer.ts, compiled to plain JavaScript like the hub: `node` imports fastify and aedes, listens with one HTTP route and one MQTT listener on ephemeral ports and prints its line. It is the floor for a Node process built on the same two libraries: Node's own start, loading them, two listeners.",
    '',
    '| How | each run, s | median, s | CPU, s (median) | ÷ peer |',
    '|---|---|---:|---:|---:|',
    `| \`npm start\` after a clean build (build + first start + bootstrap, empty data directory) | ${fmt(r.first.ms)} | **${fmt(r.first.ms)}** | ${r.first.cpuMs !== undefined ? fmt(r.first.cpuMs) : '–'} | ${(r.first.ms / peer).toFixed(2)}× |`,
    `| the build alone (\`node --import tsx scripts/build.ts\`: esbuild, every package), part of the row above | ${fmt(r.buildMs)} | **${fmt(r.buildMs)}** | – | ${(r.buildMs / peer).toFixed(2)}× |`,
    row('`npm start`, restart (nothing to build)', r.npmRestarts),
    row('`node hub/dist/bin/hub.js`, restart (compiled, no npm; V8 code cache)', r.compiled),
    row('`node hub/dist/bin/hub.cjs`, restart (the same bundle without the code cache)', r.noCache),
    row('`node --import tsx hub/src/main.ts`, restart (before: the sources through the TypeScript loader)', r.source),
    row('peer: `node` + fastify + aedes hello', r.peer),
  ];
  if (r.profiles) {
    const top = (p: { totalMs: number; shares: ProfileShare[] }) =>
      p.shares
        .filter((s) => s.where !== '(idle)')
        .slice(0, 12)
        .map((s) => `${s.where} ${s.ms.toFixed(0)}`)
        .join(', ');
    lines.push(
      '',
      '### Where start-up time goes',
      '',
      'Self time by where the code lives, from one profiled start each (`node --cpu-prof`, summarized by test/bench/cpu-profile-summary.ts; profiles in .bench/profiles/), in ms of the profile (wall-clock sampling: on a busy machine every figure stretches alike), idle left out:',
      '',
      `- **compiled** (\`node hub/dist/bin/hub.js\`, profile span ${r.profiles.compiled.totalMs.toFixed(0)} ms): ${top(r.profiles.compiled)}`,
      `- **sources through tsx** (before, profile span ${r.profiles.source.totalMs.toFixed(0)} ms): ${top(r.profiles.source)}`,
    );
  }
  lines.push('', ...notes);
  return lines.join('\n');
}

/** What was changed for this row and what is left, written under the figures on every run. */
const notes = [
  '### What the start does, and what is left',
  '',
  "Profiles of the compiled start before this work (figures above this session: 2.35 s to ready, 1.6 s CPU under load 9) put about half of it in Node loading about a thousand npm files (resolving, reading, wrapping each; fastify's plugin naming also walked the whole `require.cache` once per plugin) and the rest in compiling that code, signing three CRLs and building the OpenAPI plugins. In order of what each saved:",
  '',
  '1. **npm dependencies compiled into the bundle** (scripts/build.ts, `bundleNpm`): the hub and the certificate service are one file each; only native addons, packages that read their own files, and the cluster/MongoDB drivers stay in node_modules (`keepExternal`). CPU to ready about −25 %.',
  '2. **V8 code cache** (scripts/code-cache.ts): `hub/dist/bin/hub.js` is a launcher that runs the CommonJS bundle `hub.cjs` through `vm.Script` with the cache `hub.cjs.v8-cache` written after the first start; parsing and compiling what the previous start compiled is skipped. Node 20 has no `module.enableCompileCache` (22.1+), hence the launcher. The `hub.cjs` row above is the same bundle without it: the difference is what the cache saves. The first start after a build writes the cache (at exit, or 5 s after start); a folder the process cannot write (a read-only image) only means no cache.',
  '3. **/docs built on its first request** (hub/src/api/lazy-docs.ts): @fastify/swagger, swagger-ui and their YAML library are no longer loaded, nor their hooks run on every route, at start.',
  '4. **CRLs signed on their first request** (certificate-service/src/crl.ts), not during the start of the hub (embedded CA) or the certificate service.',
  '',
  "What is left, by the profile of the compiled start: Node's own start-up and its internal modules (the peer pays the same), fastify route registration (find-my-way, avvio: a few hundred routes), loading the CA and parsing its certificates with @peculiar/x509/asn1js for the TLS listener, and opening the embedded stores (lmdb). The `npm start` rows add npm itself (starting npm and its `prestart` stale check, a node process of its own) on top of the compiled row: the difference between the two rows, which no change to the hub can remove while the README says `npm start`. The first start after `npm ci` is the build (its own row: esbuild compiling four packages, the hub and the certificate service with their npm dependencies, on the same two shared cores) plus a start without a code cache; the build is what keeps that row above its 2 s target on this machine.",
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
