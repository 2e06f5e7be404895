/**
 * The processes of the edge benchmark besides the hub: the Modbus farm, the edge binary and the
 * bare poller, each a child of its own. Every child is tracked and SIGKILLed when this process
 * exits, however it exits; `stop()` asks first and kills after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/index.js';
import type { BarePollerMessage } from './edge-bare-poller.js';
import type { FarmMessage } from './edge-modbus-farm.js';
import type { ResponderCounts, ResponderMessage } from './edge-responder.js';
import { canPin, pinnedCommand } from './mqtt-proc.js';

/**
 * `BENCH_PROFILE=1`: the edge (and the bare poller) run under `node --cpu-prof`, one profile per
 * process written to .bench/profiles/ when it stops; `node --import tsx test/bench/cpu-profile-summary.ts
 * <file>` says where its CPU went (docs/BENCHMARKS.md, Edge runtime).
 */
export const profileDir = join(repoRoot, '.bench', 'profiles');
export function profileArgs(name: string): string[] {
  if (process.env['BENCH_PROFILE'] !== '1') return [];
  return ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`];
}

/** The edge (and its peer, the bare poller) get CPU 1 to themselves; everything else shares CPU 0. */
export const EDGE_CPU = 1;
export const REST_CPU = 0;

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

const log = (msg: string) => console.error(`[bench:edge] ${msg}`);
const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

export function track(child: ChildProcess, name: string): ChildProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of children) if (!exited(c)) c.kill('SIGKILL');
    });
    // Without a handler these signals end the process without running 'exit' handlers.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(130));
  }
  children.add(child);
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (!stopping.has(child)) log(`${name} (pid ${child.pid}) exited on its own: code ${code}, signal ${signal}\n${tail}`);
  });
  return child;
}

const stopping = new WeakSet<ChildProcess>();

/** SIGTERM (or an IPC `stop`), then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (exited(child)) return;
  stopping.add(child);
  const gone = once(child, 'exit');
  if (child.connected) child.send('stop');
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** The next IPC message of `child` that `pick` accepts, or an error after `timeoutMs` or on exit. */
function nextMessage<T>(child: ChildProcess, pick: (m: unknown) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (m: unknown) => {
      const v = pick(m);
      if (v === undefined) return;
      done();
      resolve(v);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`${what}: process exited with ${code}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function spawnTs(script: string, args: string[], cpu: number, name: string): ChildProcess {
  const [cmd, argv] = pinnedCommand(cpu, process.execPath, ['--import', 'tsx', script, ...args]);
  return track(spawn(cmd, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }), name);
}

export interface Farm {
  pid: number;
  ports: number[];
  /** fc 3 reads answered so far: one per poll of one device. */
  served(): Promise<number>;
  /** Every read answered with a Modbus exception (no reading) until `release()`. */
  hold(): Promise<void>;
  release(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFarm(devices: number): Promise<Farm> {
  const child = spawnTs('test/bench/edge-modbus-farm.ts', [String(devices)], REST_CPU, 'Modbus farm');
  const ports = await nextMessage(child, (m) => (m as Extract<FarmMessage, { ports: number[] }>).ports, 30_000, 'Modbus farm start');
  return {
    pid: child.pid!,
    ports,
    served: () => {
      const answer = nextMessage(child, (m) => (m as Extract<FarmMessage, { served: number }>).served, 5_000, 'Modbus farm count');
      child.send('count');
      return answer;
    },
    hold: () => setHeld(child, true),
    release: () => setHeld(child, false),
    stop: () => stopChild(child),
  };
}

async function setHeld(child: ChildProcess, held: boolean): Promise<void> {
  const answer = nextMessage(child, (m) => ((m as { held?: boolean }).held === held ? true : undefined), 5_000, 'Modbus farm hold');
  child.send(held ? 'hold' : 'release');
  await answer;
}

export interface BarePoller {
  pid: number;
  counts(): Promise<{ readings: number; errors: number }>;
  stop(): Promise<void>;
}

/** test/bench/edge-bare-poller.ts bundled into .bench/ with esbuild (npm packages external, as scripts/build.ts does). */
async function compileBarePoller(): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(repoRoot, '.bench', 'edge-bare-poller.mjs');
  await build({
    entryPoints: [join(repoRoot, 'test', 'bench', 'edge-bare-poller.ts')],
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

export async function startBarePoller(ports: number[], intervalMs: number, timeoutMs: number): Promise<BarePoller> {
  // Compiled like the edge (bare node, no TypeScript loader), so that the two differ only in what they do.
  const script = await compileBarePoller();
  const [cmd, argv] = pinnedCommand(EDGE_CPU, process.execPath, [
    ...profileArgs('bare-poller'),
    script,
    JSON.stringify({ ports, intervalMs, timeoutMs }),
  ]);
  const child = track(spawn(cmd, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }), 'bare poller');
  await nextMessage(child, (m) => (m as Extract<BarePollerMessage, { connected: number }>).connected, 30_000, 'bare poller start');
  return {
    pid: child.pid!,
    counts: () => {
      const answer = nextMessage(
        child,
        (m) => (typeof (m as { readings?: unknown }).readings === 'number' ? (m as { readings: number; errors: number }) : undefined),
        5_000,
        'bare poller count',
      );
      child.send('count');
      return answer;
    },
    stop: () => stopChild(child),
  };
}

export interface Responder {
  pid: number;
  mqttUrl: string;
  counts(): Promise<ResponderCounts>;
  /** Starts keeping (reading time, arrival) pairs. */
  open(): void;
  close(): Promise<Extract<ResponderMessage, { samples: unknown }>>;
  stop(): Promise<void>;
}

/** The instant-reply MQTT endpoint (test/bench/edge-responder.ts), on CPU 0 where the hub runs. */
export async function startResponder(): Promise<Responder> {
  const child = spawnTs('test/bench/edge-responder.ts', [], REST_CPU, 'responder');
  const port = await nextMessage(child, (m) => (m as { port?: number }).port, 30_000, 'responder start');
  const ask = <T>(msg: string, pick: (m: unknown) => T | undefined, what: string) => {
    const answer = nextMessage(child, pick, 5_000, what);
    child.send(msg);
    return answer;
  };
  return {
    pid: child.pid!,
    mqttUrl: `mqtt://127.0.0.1:${port}`,
    counts: () => ask('count', (m) => (m as { counts?: ResponderCounts }).counts, 'responder count'),
    open: () => child.send('open'),
    close: () =>
      ask(
        'close',
        (m) => ((m as { samples?: unknown }).samples ? (m as Extract<ResponderMessage, { samples: unknown }>) : undefined),
        'responder close',
      ),
    stop: () => stopChild(child),
  };
}

/** What the edge's config center says (edge/src/edge.ts, `EdgeStatus`), the parts used here. */
export interface EdgeStatusView {
  uplink: { connected: boolean };
  telemetry: { sent: number; buffered: number; replayed: number; refusedByHub: number };
  buffer: { readings: number; bytes: number };
  subDevices: { deviceKey: string; assetId: string; loggedIn: boolean }[];
}

/** Warnings and errors the edge logged, by message and reply code, with one example of each. */
export type LoggedProblems = Record<string, { count: number; example: string }>;

export interface BenchEdge {
  pid: number;
  /** ms from spawn to the edge printing `started` (its REST registration of every sub-device done). */
  startedAfterMs: number;
  status(): Promise<EdgeStatusView>;
  /** A copy of what the edge logged at warn and above so far. */
  problems(): LoggedProblems;
  output(): string;
  stop(): Promise<void>;
}

/** Counts one pino JSON line at warn (40) or above. */
function countProblem(line: string, into: LoggedProblems): void {
  if (!line.startsWith('{')) return;
  let e: { level?: number; msg?: string; code?: unknown; message?: unknown; err?: unknown };
  try {
    e = JSON.parse(line) as typeof e;
  } catch {
    return;
  }
  if ((e.level ?? 0) < 40) return;
  const key = `${e.msg ?? '?'}${e.code !== undefined ? ` (reply code ${JSON.stringify(e.code)})` : ''}`;
  const detail =
    typeof e.message === 'string' ? e.message : typeof e.err === 'string' ? e.err : (e.err as { message?: string } | undefined)?.message;
  const entry = (into[key] ??= { count: 0, example: detail ?? '' });
  entry.count++;
}

/**
 * The edge binary as shipped (`npm run edge`: edge/dist/bin/edge.js, `edge start --config`), pinned to its own CPU, logging at `warn` and
 * without EDGE_TRACE (which would print a line per reading). `centerToken` is the config center's
 * Bearer token (the gateway secret unless the config names one).
 */
export async function startEdge(configFile: string, centerToken: string, timeoutMs = 60_000): Promise<BenchEdge> {
  const spawnedAt = Date.now();
  const [cmd, argv] = pinnedCommand(EDGE_CPU, process.execPath, [
    ...profileArgs('edge'),
    ...edgeNodeFlags(),
    // Extra flags for one experiment, e.g. BENCH_EDGE_NODE_FLAGS=--trace-gc.
    ...(process.env['BENCH_EDGE_NODE_FLAGS']?.split(' ').filter(Boolean) ?? []),
    'edge/dist/bin/edge.js',
    'start',
    '--config',
    configFile,
    '--log-level',
    'warn',
  ]);
  const env = { ...process.env };
  delete env['EDGE_TRACE'];
  const child = track(spawn(cmd, argv, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] }), 'edge');
  let out = '';
  let partial = '';
  const problems: LoggedProblems = {};
  child.stdout!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) countProblem(line, problems);
  });
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const center = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`edge did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const m = / started: .*config center (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve(m[1]!);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`edge exited with ${code}:\n${out}`));
    });
  });
  const startedAfterMs = Date.now() - spawnedAt;
  return {
    pid: child.pid!,
    startedAfterMs,
    async status() {
      // The config center needs its Bearer token: by default the gateway's device secret.
      const r = await fetch(`${center}/status`, { headers: { authorization: `Bearer ${centerToken}` } });
      if (!r.ok) throw new Error(`edge config center answered ${r.status}`);
      return (await r.json()) as EdgeStatusView;
    },
    problems: () => Object.fromEntries(Object.entries(problems).map(([k, v]) => [k, { ...v }])),
    output: () => out,
    stop: () => stopChild(child, 20_000),
  };
}

/**
 * The Node flags `npm run edge` starts the edge with (root package.json, script `edge`), so that
 * the benchmark measures the edge as it is run: `node <flags> edge/dist/bin/edge.js`.
 */
export function edgeNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts?: Record<string, unknown> };
  const script = pkg.scripts?.['edge'];
  if (typeof script !== 'string') throw new Error('package.json has no "edge" script');
  const words = script.trim().split(/\s+/);
  const entry = words.indexOf('edge/dist/bin/edge.js');
  if (words[0] !== 'node' || entry < 0)
    throw new Error(`package.json "edge" script is not "node [flags] edge/dist/bin/edge.js": ${script}`);
  return words.slice(1, entry);
}

/** The CPU affinity mask of a process (hex, as taskset prints it), to restore it later. */
export function affinityOf(pid: number): string | undefined {
  if (!canPin()) return undefined;
  const out = execFileSync('taskset', ['-p', String(pid)], { encoding: 'utf8' });
  return /affinity mask:\s*([0-9a-f]+)/i.exec(out)?.[1];
}

/** Sets the affinity mask (hex) of every thread of a process. */
export function setAffinity(pid: number, mask: string): void {
  if (canPin()) execFileSync('taskset', ['-a', '-p', mask, String(pid)], { stdio: 'ignore' });
}
