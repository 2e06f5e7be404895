/**
 * The processes of the MQTT benchmarks: the brokers under test (hub binary, bare aedes, Mosquitto),
 * each a child pinned to CPU 0, and the load generator, a child pinned to CPU 1 (docs/PERFORMANCE-NOTES.md §3).
 * Every child is tracked and killed when this process exits, however it exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '@edgehub/hub';
import { repoRoot, spawnHub, type AdminCredentials } from '../src/index.js';
import type { LoadJob } from './mqtt-loadgen.js';
import { pinnedCommand, pinProcess } from './mqtt-proc.js';
import { inspectorUrlIn } from './mqtt-profile.js';

export type PeerName = 'hub' | 'aedes' | 'mosquitto';
/** The connect storm also runs the floor peer (test/bench/mqtt-floor-server.ts). */
export type StormPeerName = PeerName | 'floor';

export interface Peer {
  name: StormPeerName;
  /** The broker's own process (not a wrapper): its /proc entry is what gets sampled. */
  pid: number;
  port: number;
  version: string;
  stop(): Promise<void>;
}

export interface HubPeer extends Peer {
  name: 'hub';
  admin: ApiClient;
  orgId: string;
  /** The REST base URL (its /metrics too). */
  baseUrl: string;
  /** The hub's DevTools inspector, when started with `inspect` (test/bench/mqtt-profile.ts). */
  inspectorUrl?: string;
}

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const BROKER_CPU = 0;
export const GENERATOR_CPU = 1;

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Kills every child still running when this process exits (normally, by a watchdog, or by a
 * signal). A broker that exits on its own is reported with the end of its output.
 */
function track(child: ChildProcess, name?: string): ChildProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of children) c.kill('SIGKILL');
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
    if (name && !stopping.has(child))
      console.error(`[bench:mqtt] ${name} (pid ${child.pid}) exited on its own: code ${code}, signal ${signal}\n${tail}`);
  });
  return child;
}

const stopping = new WeakSet<ChildProcess>();

const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

/** Asks a child to stop, then kills it if it has not exited within `graceMs`. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (exited(child)) return;
  stopping.add(child);
  const gone = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Resolves with the first match of `pattern` in the child's stdout, or rejects after `timeoutMs`. */
function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${out}`));
    });
  });
}

/**
 * The hub binary (`npm start`), as shipped, on ephemeral ports and a fresh data directory, pinned
 * to CPU 0. `throttle: false` turns off the per-device connect throttle, which would refuse the
 * fan-in publishers reconnecting from one run to the next; it is consulted at CONNECT only.
 * Given a `dataDir` of an earlier hub, it starts over that store (devices, admin credentials).
 */
export async function startHubPeer(opts: { throttle: boolean; dataDir?: string; inspect?: boolean }): Promise<HubPeer> {
  // A data directory passed in belongs to the caller (it outlives this hub); a fresh one is removed on stop.
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'edgehub-bench-mqtt-')));
  const hub = await spawnHub(
    {
      HUB_DATA_DIR: dataDir,
      HUB_MQTT_PORT: '0',
      HUB_MQTTS_PORT: '0',
      HUB_MQTT_WS_PORT: '0',
      // Always explicit: spawnHub's own default (off, for tests) is not the binary's (on).
      HUB_MQTT_CONNECT_THROTTLE: String(opts.throttle),
      // Profiling (BENCH_PROFILE): an inspector on an ephemeral port; nothing is sampled until the bench attaches.
      ...(opts.inspect ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim() } : {}),
    },
    // On a busy machine the hub can take longer than spawnHub's default 30 s to print its URLs.
    90_000,
  );
  track(hub.child, 'hub');
  const pid = hub.child.pid!;
  pinProcess(pid, BROKER_CPU);
  const port = Number(hub.mqttUrl ? new URL(hub.mqttUrl).port : NaN);
  if (!port) throw new Error(`no MQTT port in the hub's output:\n${hub.output()}`);
  const creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
  return {
    name: 'hub',
    pid,
    port,
    version: `edgehub on aedes ${aedesVersion()}`,
    admin: new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret }),
    orgId: creds.orgId,
    baseUrl: hub.baseUrl,
    ...(opts.inspect ? { inspectorUrl: inspectorUrlIn(hub.output()) } : {}),
    async stop() {
      // A clean stop marks every device still connected offline first: allow for it.
      await stopChild(hub.child, 20_000);
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** aedes as installed for the hub (npm hoists the one copy). */
function aedesVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'node_modules/aedes/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * test/bench/mqtt-aedes-server.ts in its own process, pinned to CPU 0. `inspect`: with a DevTools
 * inspector on an ephemeral port, so the connect storm can profile the peer as it profiles the hub.
 */
export function startAedesPeer(opts: { inspect?: boolean } = {}): Promise<Peer & { inspectorUrl?: string }> {
  return startScriptPeer('aedes', 'bare aedes', ['test/bench/mqtt-aedes-server.ts'], opts);
}

/**
 * The storm's floor peer (test/bench/mqtt-floor-server.ts): bare aedes plus the hub's irreducible
 * work per connection, over its own LMDB store in `storeDir` holding `devices`. Pinned like bare aedes.
 */
export async function startFloorPeer(
  devices: { assetId: string; productKey: string; deviceKey: string; secret: string }[],
  storeDir: string,
  opts: { inspect?: boolean } = {},
): Promise<Peer & { inspectorUrl?: string }> {
  const list = join(storeDir, '..', `floor-devices-${process.pid}.json`);
  await writeFile(
    list,
    JSON.stringify(devices.map(({ assetId, productKey, deviceKey, secret }) => ({ assetId, productKey, deviceKey, deviceSecret: secret }))),
  );
  const peer = await startScriptPeer('floor', 'floor', ['test/bench/mqtt-floor-server.ts', list, storeDir], opts);
  return {
    ...peer,
    version: `${peer.version} + the hub's floor`,
    stop: async () => {
      await peer.stop();
      await rm(list, { force: true });
    },
  };
}

/** A peer built on aedes, run from its TypeScript file under tsx, that prints `listening <port> aedes <version>`. */
async function startScriptPeer(
  name: StormPeerName,
  what: string,
  script: string[],
  opts: { inspect?: boolean },
): Promise<Peer & { inspectorUrl?: string }> {
  const inspect = opts.inspect ? ['--inspect=127.0.0.1:0'] : [];
  const [cmd, args] = pinnedCommand(BROKER_CPU, process.execPath, [...inspect, '--import', 'tsx', ...script]);
  const child = track(spawn(cmd, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] }), what);
  let errors = '';
  child.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
  // The floor writes its devices to its store before it listens.
  const m = await waitForLine(child, /listening (\d+) aedes (\S+)/, 60_000, what);
  return {
    name,
    pid: child.pid!,
    port: Number(m[1]),
    version: `aedes ${m[2]}`,
    ...(opts.inspect ? { inspectorUrl: inspectorUrlIn(errors) } : {}),
    stop: () => stopChild(child, 5000),
  };
}

export function mosquittoVersion(): string | undefined {
  const r = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' });
  return /mosquitto version (\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1];
}

/**
 * Debian's Mosquitto with a generated config, pinned to CPU 0. No outgoing in-flight cap
 * (`max_inflight_messages 0`): aedes has none either, and Mosquitto's default of 20 would throttle
 * the one QoS 1 subscriber by round trips rather than measure the broker.
 */
export async function startMosquittoPeer(): Promise<Peer> {
  const version = mosquittoVersion();
  if (!version) throw new Error(`${MOSQUITTO} is not installed`);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'edgehub-bench-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'persistence false',
      'log_dest none',
      'max_inflight_messages 0',
      'max_queued_messages 100000',
      '',
    ].join('\n'),
  );
  const [cmd, args] = pinnedCommand(BROKER_CPU, MOSQUITTO, ['-c', conf]);
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }), 'mosquitto');
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitForPort(port, 5000, () => (exited(child) ? `mosquitto exited with ${child.exitCode}:\n${out}` : undefined));
  return {
    name: 'mosquitto',
    pid: child.pid!,
    port,
    version: `mosquitto ${version}`,
    async stop() {
      await stopChild(child, 5000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Runs one load-generator job in its own process, pinned to CPU 1, and returns its result. */
export async function runLoadgen<R>(job: LoadJob): Promise<R> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehub-bench-loadgen-'));
  try {
    const file = join(dir, 'job.json');
    await writeFile(file, JSON.stringify(job));
    const [cmd, args] = pinnedCommand(GENERATOR_CPU, process.execPath, ['--import', 'tsx', 'test/bench/mqtt-loadgen.ts', file]);
    const child = track(spawn(cmd, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    // The generator has its own deadline; this one covers a generator that cannot even start.
    const timer = setTimeout(() => child.kill('SIGKILL'), job.deadlineMs + 15_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    if (code !== 0) throw new Error(`load generator (${job.kind} on port ${job.port}) exited with ${code}: ${err.trim()}`);
    return JSON.parse(out.trim().split('\n').pop() ?? '') as R;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
