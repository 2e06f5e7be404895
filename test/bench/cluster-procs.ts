/**
 * The child processes of the `cluster` and `cert` benchmark groups: hub nodes (the binary, via
 * `spawnHub`), Redis (`startRedis`), measuring children (`node --import tsx test/bench/<script>`)
 * and tools (openssl), each pinned where the group says. Every child is tracked and killed when
 * this process exits, however it exits (normal end, watchdog, error, signal).
 *
 * mqtt-peers.ts has the same kind of plumbing for the MQTT group; it is not reused because its hub
 * peer takes no extra environment (REDIS_URL, HUB_NODE_ID), always sits on CPU 0 and does not
 * expose the TLS port, and its generator runner always pins to CPU 1.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '@edgehub/hub';
import { repoRoot, spawnHub, startRedis, type AdminCredentials, type RunningRedis } from '../src/index.js';
import { canPin, cpuSeconds, pinnedCommand, pinProcess } from './mqtt-proc.js';

const children = new Set<ChildProcess>();
/** Processes we started but hold no ChildProcess for (redis-server behind `startRedis`). */
const foreignPids = new Set<number>();
const stopping = new WeakSet<ChildProcess>();
let hooked = false;

function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    for (const pid of foreignPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  // Without a handler these signals end the process without running 'exit' handlers.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(130));
}

/** Registers a child to be killed at exit; a named child that exits on its own is reported with its last output. */
export function track(child: ChildProcess, name?: string): ChildProcess {
  installExitHook();
  children.add(child);
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (name && !stopping.has(child))
      console.error(`[bench] ${name} (pid ${child.pid}) exited on its own: code ${code}, signal ${signal}\n${tail}`);
  });
  return child;
}

const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

/** Marks a child as about to exit because we asked it to (not reported as exiting on its own). */
export function expectExit(child: ChildProcess): void {
  stopping.add(child);
}

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (exited(child)) return;
  stopping.add(child);
  const gone = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Pins every thread of a running process to the given CPUs (`taskset -a -p -c`), if taskset is there. */
export function pinTo(pid: number, cpus: readonly number[]): void {
  if (!canPin()) return;
  if (cpus.length === 1) pinProcess(pid, cpus[0]!);
  else execFileSync('taskset', ['-a', '-p', '-c', cpus.join(','), String(pid)], { stdio: 'ignore' });
}

export interface HubNode {
  name: string;
  pid: number;
  child: ChildProcess;
  baseUrl: string;
  mqttPort: number;
  /** The TLS listener (0 when the node printed none). */
  mqttsPort: number;
  /** The TLS listener's server certificate (PEM file), the CA file for clients. */
  tlsCertPath: string;
  dataDir: string;
  admin: ApiClient;
  creds: AdminCredentials;
  stop(): Promise<void>;
}

/**
 * The hub binary as shipped (`spawnHub`), on ephemeral ports, over `dataDir`, pinned to `cpu`
 * right after it printed its URLs (all threads). Throttle off: the same devices reconnect for every
 * run, and the throttle acts at CONNECT only. Extra env: REDIS_URL, HUB_NODE_ID, …
 */
export async function startHubNode(
  name: string,
  dataDir: string,
  cpu: number | undefined,
  env: Record<string, string> = {},
): Promise<HubNode> {
  const hub = await spawnHub({ HUB_DATA_DIR: dataDir, HUB_MQTT_CONNECT_THROTTLE: 'false', ...env }, 60_000);
  track(hub.child, name);
  const pid = hub.child.pid!;
  if (cpu !== undefined) pinTo(pid, [cpu]);
  const out = hub.output();
  const mqttPort = Number(hub.mqttUrl ? new URL(hub.mqttUrl).port : NaN);
  if (!mqttPort) throw new Error(`${name}: no MQTT port in the hub's output:\n${out}`);
  const tls = /MQTT over TLS mqtts:\/\/\S+:(\d+) \(CA: ([^)]+)\)/.exec(out);
  const creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
  return {
    name,
    pid,
    child: hub.child,
    baseUrl: hub.baseUrl,
    mqttPort,
    mqttsPort: Number(tls?.[1] ?? 0),
    tlsCertPath: tls?.[2] ?? '',
    dataDir,
    admin: new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret }),
    creds,
    // A clean stop marks every device still connected offline first: allow for it.
    stop: () => stopChild(hub.child, 20_000),
  };
}

export interface BenchRedis extends RunningRedis {
  pid: number;
  version: string;
  /** `INFO <section>` as key → value. */
  info(section: string): Record<string, string>;
}

/** `startRedis()` (a real redis-server on a free loopback port), with its pid for CPU sampling and cleanup. */
export async function startBenchRedis(): Promise<BenchRedis> {
  const redis = await startRedis();
  const info = (section: string): Record<string, string> => {
    const text = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), 'INFO', section], {
      encoding: 'utf8',
      timeout: 5_000,
    });
    const out: Record<string, string> = {};
    for (const line of text.split(/\r?\n/)) {
      const at = line.indexOf(':');
      if (at > 0 && !line.startsWith('#')) out[line.slice(0, at)] = line.slice(at + 1);
    }
    return out;
  };
  let server: Record<string, string>;
  try {
    server = info('server');
  } catch (err) {
    await redis.stop();
    throw new Error(`redis-cli INFO failed (redis-cli comes with redis-server in Debian's redis-tools): ${String(err)}`, {
      cause: err,
    });
  }
  const pid = Number(server['process_id']);
  if (!pid) {
    await redis.stop();
    throw new Error('redis-server did not report its process_id');
  }
  installExitHook();
  foreignPids.add(pid);
  return {
    ...redis,
    pid,
    version: server['redis_version'] ?? 'unknown',
    info,
    async stop() {
      await redis.stop();
      foreignPids.delete(pid);
    },
  };
}

/** Calls per Redis command since the server started (`INFO commandstats`). */
export function redisCommandCalls(redis: BenchRedis): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(redis.info('commandstats'))) {
    const calls = /calls=(\d+)/.exec(v)?.[1];
    if (k.startsWith('cmdstat_') && calls) out[k.slice('cmdstat_'.length)] = Number(calls);
  }
  return out;
}

/** Per-command difference of two `redisCommandCalls` readings, non-zero entries only. */
export function commandDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

/** CPU seconds of several processes at one instant. */
export function cpuOf(pids: Record<string, number>, clkTck: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = cpuSeconds(pid, clkTck);
  return out;
}

/**
 * Connections in state ESTABLISHED whose local port is `port` (IPv4, /proc/net/tcp): on loopback,
 * the server side of every client connected to a listener on that port.
 */
export function establishedOn(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${hex}`) && f[3] === '01') n++;
  }
  return n;
}

/**
 * Runs `test/bench/<script> <job.json>` as a child (pinned to `cpu` when given) and returns the
 * last JSON line it prints. The child is expected to exit on its own deadline and when its stdin
 * closes (our end of the pipe goes when we do); `killAfterMs` covers a child that cannot even start.
 */
export async function runChildJob<R>(
  script: string,
  job: unknown,
  o: { cpu?: number; killAfterMs: number; onSpawn?: (pid: number) => void },
): Promise<R> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehub-bench-job-'));
  try {
    const file = join(dir, 'job.json');
    await writeFile(file, JSON.stringify(job));
    const argv = ['--import', 'tsx', `test/bench/${script}`, file];
    const [cmd, args] = o.cpu === undefined ? [process.execPath, argv] : pinnedCommand(o.cpu, process.execPath, argv);
    const child = track(spawn(cmd, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] }));
    o.onSpawn?.(child.pid!);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${script} exited with ${code}: ${err.trim().slice(-2000)}`);
    return JSON.parse(out.trim().split('\n').pop() ?? '') as R;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, ms. */
  wallMs: number;
  /** User + system CPU seconds of everything the command ran (the shell's children). */
  cpuSeconds: number;
}

/**
 * Runs a tool to completion (pinned to `cpu` when given) and measures its wall time and its CPU
 * time, children included: the command runs under `sh -c '… ; times'`, whose `times` builtin
 * prints the user and system time of the shell's children.
 */
export async function runTool(command: string, o: { cpu?: number; timeoutMs: number; cwd?: string }): Promise<ToolRun> {
  const script = `${command}\nrc=$?\ntimes >&2\nexit $rc`;
  const [cmd, args] = o.cpu === undefined ? ['sh', ['-c', script]] : pinnedCommand(o.cpu, 'sh', ['-c', script]);
  const t0 = performance.now();
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(o.cwd ? { cwd: o.cwd } : {}) }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  const wallMs = performance.now() - t0;
  // `times` prints two lines: the shell's own user/system time, then its children's.
  const lines = stderr.trimEnd().split('\n');
  const childrenLine = lines.pop() ?? '';
  lines.pop();
  const secs = [...childrenLine.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { code, stdout, stderr: lines.join('\n'), wallMs, cpuSeconds: secs.reduce((a, b) => a + b, 0) };
}
