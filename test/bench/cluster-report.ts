/** The `## Cluster and application stream` section of docs/BENCHMARKS.md, between its own markers. */
import type { HubTail } from './latency-causes.js';
import type { LatencySummary } from './stats.js';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, startFlags } from '../src/index.js';
import type { ClusterConfig } from './cluster-bench.js';
import type { CpuUsage, ProcUsage } from './cluster-cpu.js';
import type { AppLatency, LatencyResult } from './cluster-latency.js';
import type { LmdbPaceResult } from './lmdb-pace.js';
import type { Machine } from './machine.js';
import type { FanInResult } from './mqtt-loadgen.js';
import { DOC_PATH } from './report.js';
import { median } from './stats.js';

export type FanInConfigName = 'single' | 'cluster-one' | 'cluster-split';

/** single: one node, no Redis; cluster-local: devices and application on node 1; cluster-cross: application on node 2. */
export type LatencyTopology = 'single' | 'cluster-local' | 'cluster-cross';

export interface LatencyRun {
  topology: LatencyTopology;
  rate: number;
  round: number;
  result: LatencyResult;
  /** Redis commands over the whole child run (connects, subscribes, warm-up included). */
  redisCommands?: Record<string, number>;
  /** The ingesting node's append times, GC pauses and event-loop delay over the run (latency-causes.ts). */
  hubTail?: HubTail;
  /** The disk's commit-like sync round trip, measured just before the run on the store's file system. */
  diskSync?: LatencySummary;
}

/** The broker peer of the latency rows at one rate in one round (test/bench/cluster-broker.ts). */
export interface BrokerRun {
  rate: number;
  round: number;
  /** `aedes <version>` as the peer printed it. */
  version: string;
  /** The latency generator's result against bare aedes; its CPU sample names the broker `broker`. */
  result: LatencyResult;
}

export interface FanInRun {
  config: FanInConfigName;
  round: number;
  nodes: string[];
  /** One generator per node in use. */
  results: FanInResult[];
  /** Sampled by the orchestrator over a window aligned with the generators'. */
  window: {
    cpu: CpuUsage;
    redisCommands: Record<string, number>;
    /** Posts answered with code 200 by each node over the window (its edgehub_mqtt_replies_total). */
    replies: number[];
    /** When each node had all its publishers connected, ms after the generators were spawned. */
    connectedAtMs: number[];
    skewMs: number;
  };
}

export interface ClusterBenchResults {
  date: Date;
  durationS: number;
  machine: Machine;
  loadAverage: { start: number; end: number };
  pinned: boolean;
  revision: string;
  redisVersion: string;
  /** Installed versions of aedes, mqemitter-redis, aedes-persistence-redis, ioredis. */
  versions: Record<string, string>;
  /** Redis pub/sub channels and patterns held with both nodes up and nothing connected. */
  idleSubscriptions: { channels: string; patterns: string };
  config: ClusterConfig;
  fanInBodyBytes: number;
  latency: LatencyRun[];
  /** The engine alone at each rate (test/bench/lmdb-pace.ts), one run per rate and round. */
  engine?: LmdbPaceResult[];
  /** Bare aedes alone at each rate (test/bench/cluster-broker.ts), one run per rate and round. */
  broker?: BrokerRun[];
  /** Bare aedes holding each post until its rows are committed to LMDB: broker and engine in one process. */
  floor?: BrokerRun[];
  fanIn: FanInRun[];
}

const START = '<!-- bench:cluster:start -->';
const END = '<!-- bench:cluster:end -->';
const HEADING = '## Cluster and application stream';

/** The commit the hub was measured at, and whether the working tree differed from it. */
export function sourceRevision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'hub', 'shared').length > 0;
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes in hub/ or shared/' : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

/** The version of an installed package (npm hoists the one copy), or "unknown". */
export function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const ms = (n: number) => (!Number.isFinite(n) ? '—' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (n: number) => (!Number.isFinite(n) ? '—' : `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`);
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '—');
const load = (n: number) => n.toFixed(2);
/** Two significant digits, for extrapolations. */
const approx = (n: number) => (Number.isFinite(n) && n > 0 ? int(Number(n.toPrecision(2))) : '—');
const cpuCell = (u: ProcUsage | undefined) => (u ? `${pct(u.cores)} (${pct(u.system)})` : '—');

const TOPOLOGY_LABEL: Record<LatencyTopology, string> = {
  single: 'one node, no Redis; application on it',
  'cluster-local': 'cluster; application on node 1 (same node as the devices)',
  'cluster-cross': 'cluster; application on node 2 (across Redis)',
};
const CONFIG_LABEL: Record<FanInConfigName, string> = {
  single: 'one node, no Redis (200 publishers)',
  'cluster-one': 'cluster, node 1 only (200 publishers; node 2 idle)',
  'cluster-split': 'cluster, split (100 publishers on each node)',
};

/** Medians over the rounds of one fan-in configuration. */
interface FanInSummary {
  runs: FanInRun[];
  rate: number;
  rates: number[];
  hubCpu: number;
  perHubCore: number;
  nodeCpu: Record<string, number>;
  redisCpu: number;
  generatorCpu: number;
  others: number;
  /** Redis commands per answered post, by command (medians). */
  redisPerPost: Record<string, number>;
  redisUsPerPost: number;
  ackP50: number;
  skewMs: number;
}

const windowRate = (r: FanInRun) => r.window.replies.reduce((a, b) => a + b, 0) / r.window.cpu.seconds;
const hubCores = (r: FanInRun) => r.nodes.reduce((a, n) => a + (r.window.cpu.procs[n]?.cores ?? 0), 0);
const generatorCores = (r: FanInRun) =>
  Object.entries(r.window.cpu.procs).reduce((a, [k, v]) => a + (k.startsWith('generator') ? v.cores : 0), 0);

function summarizeFanIn(all: FanInRun[], config: FanInConfigName): FanInSummary {
  const runs = all.filter((r) => r.config === config);
  const m = (f: (r: FanInRun) => number) => median(runs.map(f));
  const nodes = runs[0]?.nodes ?? [];
  const commands = [...new Set(runs.flatMap((r) => Object.keys(r.window.redisCommands)))];
  const redisPerPost: Record<string, number> = {};
  for (const cmd of commands) {
    const v = m((r) => (r.window.redisCommands[cmd] ?? 0) / (windowRate(r) * r.window.cpu.seconds));
    if (v >= 0.005) redisPerPost[cmd] = v;
  }
  return {
    runs,
    rate: m(windowRate),
    rates: runs.map(windowRate),
    hubCpu: m(hubCores),
    perHubCore: m((r) => windowRate(r) / hubCores(r)),
    nodeCpu: Object.fromEntries(nodes.map((n) => [n, m((r) => r.window.cpu.procs[n]?.cores ?? NaN)])),
    redisCpu: m((r) => r.window.cpu.procs['redis']?.cores ?? NaN),
    generatorCpu: m(generatorCores),
    others: m((r) => r.window.cpu.others),
    redisPerPost,
    redisUsPerPost: m((r) => ((r.window.cpu.procs['redis']?.cores ?? NaN) / windowRate(r)) * 1e6),
    ackP50: m((r) => median(r.results.map((x) => x.ackLatency?.p50 ?? NaN))),
    skewMs: Math.max(...runs.map((r) => r.window.skewMs)),
  };
}

/** One latency row: the runs of one topology at one rate (medians over the rounds). */
interface LatencySummaryRow {
  runs: LatencyRun[];
  achieved: number;
  received: number;
  expected: number;
  duplicates: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  byTimeP50: number;
  byTimeP99: number;
  ackP50: number;
  ackP99: number;
  /** Median cores and system part of each sampled process. */
  cpu: Record<string, ProcUsage>;
  others: number;
  /** Hub CPU (all hub processes) per post, µs. */
  usPerPost: number;
}

function summarizeLatency(all: LatencyRun[], topology: LatencyTopology, rate: number): LatencySummaryRow | undefined {
  const runs = all.filter((x) => x.topology === topology && x.rate === rate && x.result.apps[0]);
  if (runs.length === 0) return undefined;
  const m = (f: (x: LatencyRun) => number) => median(runs.map(f));
  const app = (x: LatencyRun) => x.result.apps[0]!;
  const names = [...new Set(runs.flatMap((x) => Object.keys(x.result.cpu.procs)))];
  const cpu = Object.fromEntries(
    names.map((n) => [n, { cores: m((x) => x.result.cpu.procs[n]?.cores ?? NaN), system: m((x) => x.result.cpu.procs[n]?.system ?? NaN) }]),
  );
  const hub = (x: LatencyRun) => ['single', 'node1', 'node2'].reduce((a, n) => a + (x.result.cpu.procs[n]?.cores ?? 0), 0);
  return {
    runs,
    achieved: m((x) => x.result.achievedRate),
    received: runs.reduce((a, x) => a + app(x).received, 0),
    expected: runs.reduce((a, x) => a + app(x).expected, 0),
    duplicates: runs.reduce((a, x) => a + app(x).duplicates, 0),
    p50: m((x) => app(x).latency.p50),
    p90: m((x) => app(x).latency.p90),
    p99: m((x) => app(x).latency.p99),
    p999: m((x) => app(x).latency.p999),
    max: m((x) => app(x).latency.max),
    byTimeP50: m((x) => app(x).byTime.p50),
    byTimeP99: m((x) => app(x).byTime.p99),
    ackP50: m((x) => x.result.ackLatency?.p50 ?? NaN),
    ackP99: m((x) => x.result.ackLatency?.p99 ?? NaN),
    cpu,
    others: m((x) => x.result.cpu.others),
    usPerPost: m((x) => (hub(x) / x.result.achievedRate) * 1e6),
  };
}

/**
 * The peer of the latency rows: LMDB alone at the same pace and with the same rows per post
 * (test/bench/lmdb-pace.ts), medians of its runs, beside the one-node hub's.
 */
function engineTable(r: ClusterBenchResults, rates: readonly number[]): string[] {
  const rows = rates.flatMap((rate) => {
    const runs = (r.engine ?? []).filter((x) => x.rate === rate);
    const hub = r.latency.filter((x) => x.topology === 'single' && x.rate === rate).map((x) => x.result.apps[0]!.latency);
    if (runs.length === 0 || hub.length === 0) return [];
    const m = (f: (x: LmdbPaceResult) => number) => median(runs.map(f));
    const h = (f: (x: LatencySummary) => number) => median(hub.map(f));
    return [
      `| ${int(rate)}/s | ${int(m((x) => x.committed))} / ${int(m((x) => x.posted))} | ${int(m((x) => x.commits))} | ` +
        `${ms(m((x) => x.latency.p50))} / ${ms(m((x) => x.latency.p90))} / **${ms(m((x) => x.latency.p99))}** / ${ms(m((x) => x.latency.max))} | ` +
        `${runs.map((x) => ms(x.latency.p99)).join(', ')} | ${int(m((x) => x.cpuPerPostUs))} (${int(m((x) => x.sysPerPostUs))}) | ` +
        `**${ratio(h((x) => x.p50) / m((x) => x.latency.p50))}** / **${ratio(h((x) => x.p99) / m((x) => x.latency.p99))}** |`,
    ];
  });
  if (rows.length === 0) return [];
  return [
    '',
    "**The engine alone at the same pace** (test/bench/lmdb-pace.ts, the peer of the latency rows; pinned to the ingesting node's CPU while the hubs idle; medians of one run per rate and round): lmdb-js opened as the embedded telemetry store opens its own (`overlappingSync: false`, the same map size and msgpack sub-databases, a store of its own kept across its runs), writing the rows the hub writes for each post (two head rows, each series' latest value read and raised) at the same aggregate rate over the same number of devices, the posts due in one turn of a 1 ms timer in one child transaction; latency from a post's due time to its durable commit. No MQTT, JSON, thing model, replies or stream: what the one-node hub shows above this is its own work and the queueing behind it.",
    '',
    '| Rate | posts committed / due | commits | latency p50 / p90 / p99 / max, ms | p99, each run | CPU per post (system), µs | **one node ÷ engine**, p50 / p99 |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ];
}

/** µs of one process's CPU per post achieved in a latency run, and its system part. */
function perPost(x: LatencyResult, proc: string): { us: number; sys: number } {
  const u = x.cpu.procs[proc];
  return { us: ((u?.cores ?? NaN) / x.achievedRate) * 1e6, sys: ((u?.system ?? NaN) / x.achievedRate) * 1e6 };
}

/**
 * What the broker + engine floor says about the row at `rate`: its p99 against the 10 ms target of
 * issue 12 at 5,000/s (and 5 ms at lower rates) and its CPU per post against the node's.
 */
function floorReading(r: ClusterBenchResults, rate: number, nodeUs: number): string {
  const runs = (r.floor ?? []).filter((x) => x.rate === rate && x.result.apps[0]);
  if (runs.length === 0) return '';
  const p99 = median(runs.map((x) => x.result.apps[0]!.latency.p99));
  const us = median(runs.map((x) => perPost(x.result, 'broker').us));
  const target = rate >= 5_000 ? 10 : 5;
  return (
    ` The broker and the engine in one process (the floor table above) had a p99 of ${ms(p99)} ms at this pace for ${int(us)} µs of CPU per post (${pct((us * rate) / 1e6)} of its core), ` +
    (p99 <= target
      ? `inside the ${target} ms target: the target is within reach of a process that holds each post until it is durable, and what the node adds above that floor, ${int(nodeUs - us)} µs per post (${ratio(nodeUs / us)}), is what fills its core and its queue.`
      : `already beyond the ${target} ms target: the floor itself does not meet it on this core.`)
  );
}

/** The header of a peer's latency table. */
const peerHeader = (name: string) =>
  `| Rate | posts/s achieved | received / posted in windows | latency p50 / p90 / p99 / max, ms | p99, each run | PUBACK p50 / p99, ms | ${name} CPU (sys) | CPU per post (system), µs | **one node ÷ ${name}**, p50 / p99 | **one node ÷ ${name}**, CPU per post |`;

/**
 * The second peer of the latency rows: bare aedes alone at the same pace with the same generator
 * (test/bench/cluster-broker.ts), medians of its runs, beside the one-node hub's; then both
 * floors' CPU per post added up against the node's.
 */
function brokerTable(r: ClusterBenchResults, rates: readonly number[]): string[] {
  const c = r.config;
  const hubRuns = (rate: number) => r.latency.filter((x) => x.topology === 'single' && x.rate === rate && x.result.apps[0]);
  const peerRows = (peer: BrokerRun[] | undefined) =>
    rates.flatMap((rate) => {
      const runs = (peer ?? []).filter((x) => x.rate === rate && x.result.apps[0]);
      const hub = hubRuns(rate);
      if (runs.length === 0 || hub.length === 0) return [];
      const m = (f: (x: LatencyResult) => number) => median(runs.map((x) => f(x.result)));
      const h = (f: (x: LatencyResult) => number) => median(hub.map((x) => f(x.result)));
      const app = (x: LatencyResult) => x.apps[0]!;
      return [
        `| ${int(rate)}/s | ${int(m((x) => x.achievedRate))} | ${int(runs.reduce((a, x) => a + app(x.result).received, 0))} / ${int(runs.reduce((a, x) => a + app(x.result).expected, 0))} | ` +
          `${ms(m((x) => app(x).latency.p50))} / ${ms(m((x) => app(x).latency.p90))} / **${ms(m((x) => app(x).latency.p99))}** / ${ms(m((x) => app(x).latency.max))} | ` +
          `${runs.map((x) => ms(app(x.result).latency.p99)).join(', ')} | ${ms(m((x) => x.ackLatency?.p50 ?? NaN))} / ${ms(m((x) => x.ackLatency?.p99 ?? NaN))} | ` +
          `${pct(m((x) => x.cpu.procs['broker']?.cores ?? NaN))} (${pct(m((x) => x.cpu.procs['broker']?.system ?? NaN))}) | ${int(m((x) => perPost(x, 'broker').us))} (${int(m((x) => perPost(x, 'broker').sys))}) | ` +
          `**${ratio(h((x) => app(x).latency.p50) / m((x) => app(x).latency.p50))}** / **${ratio(h((x) => app(x).latency.p99) / m((x) => app(x).latency.p99))}** | ` +
          `**${ratio(h((x) => perPost(x, 'single').us) / m((x) => perPost(x, 'broker').us))}** |`,
      ];
    });
  const rows = peerRows(r.broker);
  if (rows.length === 0) return [];
  const floorRows = peerRows(r.floor);
  const floors = rates.flatMap((rate) => {
    const engine = (r.engine ?? []).filter((x) => x.rate === rate);
    const broker = (r.broker ?? []).filter((x) => x.rate === rate);
    const hub = hubRuns(rate);
    if (engine.length === 0 || broker.length === 0 || hub.length === 0) return [];
    const e = { us: median(engine.map((x) => x.cpuPerPostUs)), sys: median(engine.map((x) => x.sysPerPostUs)) };
    const b = {
      us: median(broker.map((x) => perPost(x.result, 'broker').us)),
      sys: median(broker.map((x) => perPost(x.result, 'broker').sys)),
    };
    const n = { us: median(hub.map((x) => perPost(x.result, 'single').us)), sys: median(hub.map((x) => perPost(x.result, 'single').sys)) };
    const both = e.us + b.us;
    // Share of one core at this rate: µs per post × posts per second.
    const core = (us: number) => pct((us * rate) / 1e6);
    return [
      `| ${int(rate)}/s | ${int(e.us)} (${int(e.sys)}) | ${int(b.us)} (${int(b.sys)}) | **${int(both)}** (${int(e.sys + b.sys)}), ${core(both)} of a core | ` +
        `**${int(n.us)}** (${int(n.sys)}), ${core(n.us)} of a core | **${ratio(n.us / both)}** | ${int(n.us - both)} |`,
    ];
  });
  const version = r.broker?.[0]?.version ?? 'aedes';
  return [
    '',
    `**The broker alone at the same pace** (test/bench/cluster-broker.ts, the second peer of the latency rows; medians of one run per rate and round): bare ${version} (test/bench/mqtt-aedes-server.ts: the broker the hub is built on, in memory, no hooks, \`TCP_NODELAY\`), one process for all the latency runs, with the Node options \`npm start\` gives the hub, pinned to CPU ${c.ingestCpu} as the ingesting node is and warmed with one unreported run at ${int(c.rates[0]!)}/s (a freshly started process spends far more CPU per post in its first seconds), measured while the hubs idle; the same generator on CPU ${c.otherCpu} with the same ${c.latencyDevices} devices (the same signed CONNECT frames, which bare aedes accepts unchecked), bodies, rate, QoS ${c.latencyQos}, warm-up, window and drain as the one-node rows. The application subscribes at QoS 0 to exactly the devices' publish topics and receives each device's PUBLISH as bare aedes forwards it; latency is timed as above, from the write of the PUBLISH to its arrival. Per post the broker reads the PUBLISH from the device's socket, answers its PUBACK and writes one delivery to the application's socket: the MQTT work the hub does for every post too, without JSON, thing model, store commit, \`_reply\` or stream event. The broker's CPU is sampled over the window from \`/proc/<pid>/stat\` as the hub's is. \`BENCH_PROFILE=<dir>\` runs it under \`node --cpu-prof\`.`,
    '',
    peerHeader('broker'),
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    ...(floorRows.length === 0
      ? []
      : [
          '',
          `**The broker and the engine in one process** (the floor of the latency rows; test/bench/mqtt-aedes-server.ts with \`--store\`, started by test/bench/cluster-broker.ts like the broker above, same placement, warm-up and generator): bare ${version} whose \`authorizePublish\` holds each measurepoint post until its values are durable, as the hub holds it. It parses the post's JSON, writes the engine's rows (test/bench/pace-store.ts, the same LMDB layout and options) with the posts of one event-loop turn in one child transaction, and only once that commits lets aedes answer the PUBACK and forward the post to the application. So it shares one event loop, one heap and one core between the MQTT work and the commits, as the hub does. It does not check the signature or the thing model, send a \`_reply\`, publish a stream event of its own, or keep metrics. If this floor's p99 is under the target and the node's is not, the difference is the hub's own work per post and the queueing it causes on the core.`,
          '',
          peerHeader('broker + engine'),
          '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
          ...floorRows,
        ]),
    ...(floors.length === 0
      ? []
      : [
          '',
          "**The two floors against the node's CPU per post** (medians): the engine's CPU per post (LMDB alone, the table before) plus the broker's (bare aedes alone, the table above) against the one-node hub's at the same rate. The sum adds two separate runs, each alone on the core; it is not a measurement of both jobs done together in one process (which would share one event loop, one heap and its collections). Each floor runs well below saturation, so each post pays its own socket read, PUBACK write and delivery (broker) or shares a commit with the few posts of one 1 ms tick (engine); a node near saturation reads several posts per socket read and commits more per transaction, so its CPU per post can come out below the sum. Share of a core = CPU per post × rate.",
          '',
          '| Rate | engine alone, µs per post (sys) | broker alone, µs per post (sys) | **both floors, summed**, µs per post (sys), share of a core | **one node**, µs per post (sys), share of a core | **one node ÷ both floors** | one node above both floors, µs per post |',
          '|---|---:|---:|---:|---:|---:|---:|',
          ...floors,
        ]),
  ];
}

/**
 * What the latency tail is made of (test/bench/latency-causes.ts), per rate and topology, medians of
 * the runs: the ingesting node's store appends (each a group of posts, from the call to the durable
 * commit), its GC pauses and its longest event-loop delay over the run, and the disk's own
 * commit-like sync measured just before each run.
 */
function tailTable(r: ClusterBenchResults, rates: readonly number[]): string[] {
  // A bucket's upper bound; past the last finite bound, "over" it.
  const upTo = (n: number) => (Number.isFinite(n) ? `≤ ${ms(n)}` : '> 1,000');
  const rows = rates.flatMap((rate) =>
    LATENCY_ORDER.flatMap((t) => {
      const runs = r.latency.filter((x) => x.topology === t && x.rate === rate && x.hubTail && x.diskSync);
      if (runs.length === 0) return [];
      const m = (f: (x: LatencyRun) => number) => median(runs.map(f));
      const tail = (x: LatencyRun) => x.hubTail!;
      const disk = (x: LatencyRun) => x.diskSync!;
      return [
        `| ${int(rate)}/s | ${TOPOLOGY_LABEL[t]} | ${int(m((x) => tail(x).appends))} | ${ms(m((x) => tail(x).appendMeanMs))} / ${upTo(m((x) => tail(x).appendP99Ms))} | ` +
          `${int(m((x) => tail(x).appendsOver5Ms))} / ${int(m((x) => tail(x).appendsOver10Ms))} | ${int(m((x) => tail(x).gcPauses))} / ${ms(m((x) => tail(x).gcTotalMs))} | ` +
          `${int(m((x) => tail(x).gcOver5Ms))} / ${int(m((x) => tail(x).gcOver10Ms))} | ${ms(m((x) => tail(x).loopLagMaxMs))} | ${ms(m((x) => disk(x).p50))} / ${ms(m((x) => disk(x).p99))} / ${ms(m((x) => disk(x).max))} |`,
      ];
    }),
  );
  if (rows.length === 0) return [];
  return [
    "**What the tail is made of** (test/bench/latency-causes.ts; medians of the runs): the ingesting node's telemetry appends over the whole run (warm-up and drain included; each append is a group of the posts that reached the store in one event-loop turn, timed from the call to the durable commit by the hub's own `edgehub_telemetry_append_seconds`, whose p99 is given as its bucket's upper bound), its garbage-collection pauses (`edgehub_nodejs_gc_duration_seconds`) and its longest event-loop delay (`edgehub_nodejs_eventloop_lag_max_seconds`), all read from its /metrics before and after the run; and the disk's own floor, measured by the bench just before each run on the file system of the store: 300 commit-like steps in a row, each a 4 KiB write + `fdatasync` twice (an LMDB commit syncs its data pages, then writes its meta page synchronously).",
    '',
    '| Rate | Topology | store appends | append mean / p99, ms | appends > 5 / > 10 ms | GC pauses / total, ms | GC pauses > 5 / > 10 ms | longest event-loop delay, ms | disk commit floor p50 / p99 / max, ms |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ];
}

export function renderClusterSection(r: ClusterBenchResults): string {
  const { config: c, machine: m } = r;
  const lat = (t: LatencyTopology, rate: number) => summarizeLatency(r.latency, t, rate);
  const ingestNode = (t: LatencyTopology) => (t === 'single' ? 'single' : 'node1');
  const latencyRow = (t: LatencyTopology, rate: number) => {
    const x = lat(t, rate);
    if (!x) return `| ${int(rate)}/s | ${TOPOLOGY_LABEL[t]} | not run |`;
    const each = (f: (a: AppLatency) => number) => x.runs.map((q) => ms(f(q.result.apps[0]!))).join(', ');
    return (
      `| ${int(rate)}/s | ${TOPOLOGY_LABEL[t]} | ${int(x.achieved)} | ${int(x.received)} / ${int(x.expected)} | **${ms(x.p50)}** / ${ms(x.p90)} / **${ms(x.p99)}** / ${ms(x.p999)} / ${ms(x.max)} | ${each((a) => a.latency.p50)} | ${each((a) => a.latency.p99)} | ${ms(x.byTimeP50)} / ${ms(x.byTimeP99)} | ` +
      `${ms(x.ackP50)} / ${ms(x.ackP99)} | ${cpuCell(x.cpu[ingestNode(t)])} | ${t === 'single' ? '—' : cpuCell(x.cpu['node2'])} | ${t === 'single' ? '—' : cpuCell(x.cpu['redis'])} | ${int(x.usPerPost)} | ${cpuCell(x.cpu['generator'])} | ${pct(x.others)} |`
    );
  };
  const latencyRatio = (label: string, a: LatencyTopology, b: LatencyTopology, rate: number) => {
    const x = lat(a, rate);
    const y = lat(b, rate);
    if (!x || !y) return '';
    return `| ${int(rate)}/s | **${label}** | | | **${ratio(x.p50 / y.p50)}** / ${ratio(x.p90 / y.p90)} / **${ratio(x.p99 / y.p99)}** / ${ratio(x.p999 / y.p999)} / ${ratio(x.max / y.max)} | | | | | | | | | | |`;
  };

  const fan = Object.fromEntries(FAN_IN_ORDER.map((k) => [k, summarizeFanIn(r.fanIn, k)])) as Record<FanInConfigName, FanInSummary>;
  const fanRow = (k: FanInConfigName) => {
    const x = fan[k];
    const nodes = Object.entries(x.nodeCpu)
      .map(([n, v]) => `${n} ${pct(v)}`)
      .join(' + ');
    const perPost =
      Object.entries(x.redisPerPost)
        .map(([cmd, v]) => `${cmd.toUpperCase()} ${v.toFixed(2)}`)
        .join(', ') || '—';
    return `| ${CONFIG_LABEL[k]} | **${int(x.rate)}** | ${x.rates.map(int).join(', ')} | ${nodes} | **${int(x.perHubCore)}** | ${k === 'single' ? '—' : pct(x.redisCpu)} | ${k === 'single' ? '—' : perPost} | ${k === 'single' ? '—' : ms(x.redisUsPerPost)} | ${pct(x.generatorCpu)} | ${pct(x.others)} | ${ms(x.ackP50)} |`;
  };
  const fanRatio = (label: string, a: FanInConfigName, b: FanInConfigName) => {
    const x = fan[a];
    const y = fan[b];
    const paired = [0, 1, 2, 3, 4].flatMap((round) => {
      const ra = x.runs.find((q) => q.round === round);
      const rb = y.runs.find((q) => q.round === round);
      return ra && rb ? [ratio(windowRate(ra) / windowRate(rb))] : [];
    });
    return `| **${label}** | **${ratio(x.rate / y.rate)}** | ${paired.join(', ')} (round by round) | | **${ratio(x.perHubCore / y.perHubCore)}** | | | | | | |`;
  };

  return [
    `_Written by \`npm run bench\` (test/bench/cluster-bench.ts); everything between the \`bench:cluster\` markers is replaced on the next run._`,
    '',
    `- **Command:** \`npm run bench -- cluster\` (this group alone; it took ${r.durationS.toFixed(0)} s)`,
    `- **Date:** ${r.date.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- **Machine:** ${m.nproc} CPUs (\`nproc\`), ${m.cpuModel}, ${m.memoryGiB} GiB RAM, ${m.kernel}; temp dir (LMDB stores) on ${m.tmpFilesystem}; 1-minute load average **${load(r.loadAverage.start)} at the start, ${load(r.loadAverage.end)} at the end** of this group (the benchmark itself keeps both CPUs partly busy)`,
    `- **Software:** Node ${m.node}; the hub binary at commit ${r.revision} (\`spawnHub\`: \`${['node', ...startFlags(), 'hub/dist/bin/hub.js'].join(' ')}\`, compiled and with the Node options \`npm start\` gives it, role \`all\`, embedded LMDB registry and telemetry stores, connect throttle off, \`LOG_LEVEL=info\`, nothing logged per message) on aedes ${r.versions['aedes']}; cluster mode adds mqemitter-redis ${r.versions['mqemitter-redis']} and aedes-persistence-redis ${r.versions['aedes-persistence-redis']} (ioredis ${r.versions['ioredis']}); Redis ${r.redisVersion} (\`startRedis\`: \`--save '' --appendonly no\`).`,
    `- **Topologies:** *one node*: one hub process, no \`REDIS_URL\`. *Cluster*: two hub processes with the same \`HUB_DATA_DIR\` (one embedded LMDB registry and telemetry store, opened by both: LMDB is multi-process safe on one host) and the same \`REDIS_URL\`, \`HUB_NODE_ID\` node-1 and node-2, as in test/integration/cluster.test.ts. With both nodes up and nothing connected Redis held ${r.idleSubscriptions.channels} pub/sub channels and ${r.idleSubscriptions.patterns} patterns (the nodes' own).`,
    `- **Placement (2 CPUs):** ${r.pinned ? '' : '**taskset was not available: nothing was pinned.** '}CPU ${c.ingestCpu}: the node the devices connect to (the single node, or cluster node 1; they are never loaded at the same time). CPU ${c.otherCpu}: cluster node 2, Redis, the latency generator and the fan-in generator of the one-node runs. The split fan-in has no free core for its two generators: they are not pinned and the scheduler places them. Pinning: \`taskset -a -p -c\` on each hub after it printed its URLs and on Redis after it started, \`taskset -c\` for the generators. CPU is utime + stime from \`/proc/<pid>/stat\` over the measured window (100% = one core; in brackets the system (kernel) part), "others" is all CPU time on the machine outside the processes listed (\`/proc/stat\` user + nice + system + steal), i.e. other work sharing the two cores.`,
    '',
    `### Latency, device → application on the stream`,
    '',
    `${c.latencyDevices} devices (signed CONNECT, raw sockets) post \`thing.measurepoint.post\` at QoS ${c.latencyQos} at a fixed total rate, spread evenly (post *k* is due at *k* / rate, device *k* mod ${c.latencyDevices}; a 1 ms timer writes what is due, one write per device), body \`{"id":"<k>","version":"1.0","method":"thing.measurepoint.post","params":{"measurepoints":{"temp":21.5,"seq":<k>},"time":<Date.now()>}}\`. One application (\`authtype=app\` CONNECT with the org's access key) subscribes to the ${c.latencyDevices} exact topics \`org/{orgId}/devices/{pk}/{dk}/measurepoints\` at QoS 0 (the stream's QoS). The generator (test/bench/cluster-latency.ts) is one process holding both ends, so both read the same clock: latency = arrival of the stream event at the application − write of the device's PUBLISH, per \`seq\` (\`performance.now()\`); the "by \`time\`" column is the same from the payload's \`time\` (whole ms, \`Date.now()\`), as an application elsewhere would compute it. ${c.latencyWarmupMs / 1000} s warm-up (${c.latencyFirstWarmupMs / 1000} s in the first run on a freshly started node: its JIT warm-up on its one core, see "Device → application latency: the tail"), then a ${c.latencyMeasureMs / 1000} s window; posts of the window still in flight get ${c.drainMs / 1000} s more. Posts were written up to ${ms(Math.max(...r.latency.map((x) => x.result.lateness.p99)))} ms behind their schedule (p99 of the worst run: timer granularity and the generator's own pauses); latency counts from the actual write, so lateness only makes the offered load burstier. ${c.latencyRounds} rounds, each running the three topologies one after another at each rate, the order reversed every time; medians of the runs, and each run's p50 and p99. What a post goes through before the application sees it: the hub's \`authorizePublish\`, JSON parse, the thing-model check, appending it to the telemetry store (an LMDB transaction the hub waits for: the stream hears only of durable data), then the stream publish: in-process for one node; in the cluster an mqemitter-redis \`PUBLISH\` that every node subscribed to the channel receives back from Redis (the node the devices are on as well), then delivery to the application's connection.`,
    '',
    '| Rate | Topology | posts/s achieved | received / posted in windows | latency p50 / p90 / p99 / p99.9 / max, ms (medians of the runs) | p50, each run | p99, each run | by `time` p50 / p99, ms | PUBACK p50 / p99, ms | ingesting node CPU (sys) | node 2 CPU (sys) | Redis CPU (sys) | hub CPU per post, µs | generator CPU (sys) | others |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...c.rates.flatMap((rate) => [
      ...LATENCY_ORDER.map((t) => latencyRow(t, rate)),
      latencyRatio('cross-node ÷ one node', 'cluster-cross', 'single', rate),
      latencyRatio('same node in cluster ÷ one node', 'cluster-local', 'single', rate),
      latencyRatio('cross-node ÷ same node (both cluster)', 'cluster-cross', 'cluster-local', rate),
    ]),
    '',
    `"Hub CPU per post" adds up every hub process's CPU over the window and divides by the posts of the window (Redis not included).`,
    '',
    ...tailTable(r, c.rates),
    ...engineTable(r, c.rates),
    ...brokerTable(r, c.rates),
    '',
    `### Fan-in throughput: one node against a two-node cluster`,
    '',
    `The MQTT group's load generator (test/bench/mqtt-loadgen.ts), unchanged: ${c.fanInPublishers} devices, signed CONNECTs, \`thing.measurepoint.post\` of ${r.fanInBodyBytes} bytes at QoS 1, closed loop with ${c.window} publishes in flight per device (the next one goes on each PUBACK, which the hub sends after its reply). *One node*: all ${c.fanInPublishers} on the single node. *Cluster, node 1 only*: all ${c.fanInPublishers} on node 1 while node 2 idles: what cluster mode costs a node. *Cluster, split*: the same ${c.fanInPublishers} devices, half on each node, one generator process per node, started together. Counted: posts answered with code 200 (each node's \`edgehub_mqtt_replies_total{code="200"}\` from its /metrics) over a window of ${c.fanInMeasureMs / 1000} s that opens ${c.fanInWarmupMs / 1000} s after the last publisher of all is connected; the generators keep loading ${c.skewSlackMs / 1000} s past their own windows so that none stops inside ours (their start differed by at most ${int(Math.max(...r.fanIn.map((x) => x.window.skewMs)))} ms). Redis commands are \`INFO commandstats\` over the same window. ${c.rounds} rounds, the order of the three reversed from one round to the next; medians, each run listed. The PUBACK round trip is the generators' own (closed loop: mostly queueing).`,
    '',
    '| Configuration | posts answered/s (median) | each round | hub CPU | posts per hub core-second | Redis CPU | Redis commands per post | Redis CPU per post, µs | generator CPU | others | PUBACK p50, ms |',
    '|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|',
    ...FAN_IN_ORDER.map(fanRow),
    fanRatio('cluster node 1 only ÷ one node', 'cluster-one', 'single'),
    fanRatio('cluster split ÷ one node', 'cluster-split', 'single'),
    fanRatio('cluster split ÷ cluster node 1 only', 'cluster-split', 'cluster-one'),
    '',
    '### Reading these numbers',
    '',
    ...interpretation(r, fan, lat),
  ].join('\n');
}

const LATENCY_ORDER: LatencyTopology[] = ['single', 'cluster-local', 'cluster-cross'];
const FAN_IN_ORDER: FanInConfigName[] = ['single', 'cluster-one', 'cluster-split'];

/** One sentence on what the tail table shows for one topology and rate (medians of the runs). */
function tailCauses(r: ClusterBenchResults, t: LatencyTopology, rate: number): string {
  const runs = r.latency.filter((x) => x.topology === t && x.rate === rate && x.hubTail && x.diskSync);
  if (runs.length === 0) return '';
  const m = (f: (x: LatencyRun) => number) => median(runs.map(f));
  const p99 = m((x) => x.result.apps[0]?.latency.p99 ?? NaN);
  return (
    `At ${int(rate)} posts/s on one node (p99 ${ms(p99)} ms): the disk's own commit floor, with nothing else on it, had a p99 of ${ms(m((x) => x.diskSync!.p99))} ms (max ${ms(m((x) => x.diskSync!.max))}); ` +
    `${int(m((x) => x.hubTail!.appendsOver10Ms))} of the node's ${int(m((x) => x.hubTail!.appends))} store appends took over 10 ms (${int(m((x) => x.hubTail!.appendsOver5Ms))} over 5 ms), ` +
    `${int(m((x) => x.hubTail!.gcOver10Ms))} of its ${int(m((x) => x.hubTail!.gcPauses))} GC pauses over 10 ms (${int(m((x) => x.hubTail!.gcOver5Ms))} over 5 ms), and its event loop was held up ${ms(m((x) => x.hubTail!.loopLagMaxMs))} ms at most.`
  );
}

function interpretation(
  r: ClusterBenchResults,
  fan: Record<FanInConfigName, FanInSummary>,
  lat: (t: LatencyTopology, rate: number) => LatencySummaryRow | undefined,
): string[] {
  const c = r.config;
  const [low, high] = [c.rates[0]!, c.rates[c.rates.length - 1]!];
  const a = (t: LatencyTopology, rate: number) => lat(t, rate);
  const cpuOf = (t: LatencyTopology, rate: number) => lat(t, rate)?.cpu[t === 'single' ? 'single' : 'node1']?.cores ?? NaN;
  const sl = a('single', low);
  const xl = a('cluster-cross', low);
  const ll = a('cluster-local', low);
  const sh = a('single', high);
  const xh = a('cluster-cross', high);
  const lh = a('cluster-local', high);
  const f = fan;
  const one = f['cluster-one'];
  const single = f.single;
  const split = f['cluster-split'];
  const publishPerPost = one.redisPerPost['publish'] ?? NaN;
  const busiestIngest = Math.max(cpuOf('single', high), cpuOf('cluster-local', high), cpuOf('cluster-cross', high));
  const lost = r.latency.reduce((s, x) => s + (x.result.apps[0] ? x.result.apps[0].expected - x.result.apps[0].received : 0), 0);
  const dups = r.latency.reduce((s, x) => s + (x.result.apps[0]?.duplicates ?? 0), 0);
  const runUs = (t: LatencyTopology, rate: number) => lat(t, rate)?.usPerPost ?? NaN;
  const crossRedisUs = ((xh?.cpu['redis']?.cores ?? NaN) / (xh?.achieved ?? NaN)) * 1e6;
  const crossVsLocal = (xl?.p50 ?? NaN) / (ll?.p50 ?? NaN);
  const p99Spread = Math.max(
    ...c.rates.flatMap((rate) =>
      LATENCY_ORDER.map((t) => {
        const p99s = (lat(t, rate)?.runs ?? []).map((x) => x.result.apps[0]?.latency.p99 ?? NaN);
        return p99s.length > 1 ? Math.max(...p99s) / Math.min(...p99s) : 1;
      }),
    ),
  );
  const near = (x: number) => x >= 0.75 && x <= 1.33;
  return [
    `- **Cluster ÷ one node at ${int(low)} posts/s: ${ratio((xl?.p50 ?? NaN) / (sl?.p50 ?? NaN))} the latency at p50** for an application on node 2 (${ms(xl?.p50 ?? NaN)} ms against ${ms(sl?.p50 ?? NaN)} ms on one node without Redis; p99 ${ms(xl?.p99 ?? NaN)} against ${ms(sl?.p99 ?? NaN)} ms, but see the tails below). ` +
      `That is the cost of cluster mode rather than of crossing nodes: in cluster mode every stream event makes the same trip through Redis whichever node the subscriber is on (mqemitter-redis publishes each message to Redis, and every node with a matching subscription, the publishing one included, reads it back; docs/PERFORMANCE-NOTES.md §2.1). An application on node 1, next to the devices, sees the same posts after ${ms(ll?.p50 ?? NaN)} ms (p50), i.e. cross ÷ same node ${ratio(crossVsLocal)}` +
      (crossVsLocal < 0.9 && cpuOf('cluster-local', low) > cpuOf('cluster-cross', low)
        ? `: crossing is *faster* here, because with the application on node 1 that node also reads every event back from Redis and delivers it, on top of ingesting (node 1 ${pct(cpuOf('cluster-local', low))} busy, against ${pct(cpuOf('cluster-cross', low))} when node 2 delivers). `
        : near(crossVsLocal)
          ? ': the crossing itself adds nothing measurable. '
          : `, a difference this benchmark does not explain. `) +
      `Much of the latency is in the ingesting node rather than in Redis' trip: the device's PUBACK, which does not wait for the stream event to be delivered, comes back after ${ms(sl?.ackP50 ?? NaN)} ms on one node and ${ms(xl?.ackP50 ?? NaN)} ms in the cluster (p50), the same order as the stream latency. Every post of the windows arrived${lost > 0 ? ` except ${int(lost)}` : ''}${dups > 0 ? `, with ${int(dups)} duplicates` : ', no duplicates'} (QoS 0 stream on loopback, Redis never disconnected). ` +
      `**The tails move from run to run:** within one row, the runs' p99 differ by up to ${ratio(p99Spread)} here (each run's p99 is listed), with or without other load on the machine. Every post waits for its LMDB commit to reach the disk (ext4 on a shared virtual disk) before it is acknowledged or streamed, and a slow sync holds back every post queued behind it. ${tailCauses(r, 'single', low)} ${tailCauses(r, 'single', high)} Compare the p50s; read the p99 ratios with care.`,
    `- **At ${int(high)} posts/s the ingesting node is the limit.** Its core was up to ${pct(busiestIngest)} busy (one node p50 ${ms(sh?.p50 ?? NaN)} ms / p99 ${ms(sh?.p99 ?? NaN)}; cluster, application on node 2 ${ms(xh?.p50 ?? NaN)} / ${ms(xh?.p99 ?? NaN)}; application on node 1 ${ms(lh?.p50 ?? NaN)} / ${ms(lh?.p99 ?? NaN)}): near saturation, latency is mostly queueing in that node's event loop. ` +
      `With the application on node 1, that node also reads every event back from Redis and delivers it, the work node 2 does otherwise (${pct(xh?.cpu['node2']?.cores ?? NaN)} of a core at this rate), on a core that is already nearly full${(lh?.p50 ?? 0) > (xh?.p50 ?? 0) * 1.3 ? ', hence the highest p50 of the three' : ''}: in a cluster, applications on other nodes than the devices take delivery work off the ingesting nodes. ` +
      `Paced posts cost far more CPU each than the saturated fan-in below: ${int(runUs('single', low))} µs of hub CPU per post at ${int(low)}/s and ${int(runUs('single', high))} µs at ${int(high)}/s on one node, against ${int(1e6 / single.perHubCore)} µs in the fan-in. A post arriving alone pays for its own LMDB commit, event-loop turn and socket writes, which the fan-in's bursts share (note the system share of the node's CPU), and so do bare aedes and LMDB alone at the same pace ("The two floors against the node's CPU per post" above). Sizing from the fan-in figures overstates what a node does for devices posting at a steady pace.` +
      floorReading(r, high, runUs('single', high)),
    `- **What cluster mode costs a node: ${ratio(one.perHubCore / single.perHubCore)} the posts per core-second** (${int(one.perHubCore)} against ${int(single.perHubCore)} on one node, fan-in, node 1 alone; round by round in the table). Per post the cluster adds ${Number.isFinite(publishPerPost) ? publishPerPost.toFixed(2) : '—'} Redis \`PUBLISH\` (the stream event; the QoS 1 reply goes straight to the device's connection, and clean sessions keep nothing in Redis), i.e. an msgpack encode and an ioredis command in the node instead of an in-process emit, and Redis spends ${ms(one.redisUsPerPost)} µs of CPU per post with no subscriber (${ms(crossRedisUs)} µs in the latency runs at ${int(high)}/s, where node 2 subscribes and receives each event). How the node's extra CPU splits between the encode, ioredis and aedes' Redis-backed plumbing was not profiled.`,
    `- **The split cluster on 2 cores: ${ratio(split.rate / single.rate)} the posts/s of one node. This is not scale-out.** One node used one core (${pct(single.hubCpu)}) while CPU ${c.otherCpu} held only its generator (${pct(single.generatorCpu)}); the split run puts a hub on each core, so it gains the idle half of the machine, minus what cluster mode costs, minus the generators and Redis now sharing the hubs' cores (hubs ${pct(split.hubCpu)} together, Redis ${pct(split.redisCpu)}, generators ${pct(split.generatorCpu)}, others ${pct(split.others)}). ` +
      `Per hub core-second the split cluster does ${ratio(split.perHubCore / one.perHubCore)} what node 1 alone does: ${
        split.perHubCore / one.perHubCore >= 0.9
          ? `two nodes sharing one LMDB store (its write lock serializes the commits of both processes) and one Redis cost nothing measurable beyond cluster mode itself at this load${split.perHubCore / one.perHubCore > 1.05 ? ` (more than 1×: in the split run neither node was saturated, ${Object.values(split.nodeCpu).map(pct).join(' and ')} busy, while node 1 alone ran at ${pct(one.hubCpu)}, and a saturated node spends more per post; not profiled)` : ''}`
          : 'that is what two nodes sharing one LMDB store (its write lock serializes the commits of both processes) and one Redis cost beyond cluster mode itself, within the noise of a shared machine'
      }. ` +
      `Whether N nodes on N cores give N times one node cannot be shown on 2 cores: that needs a core per node plus cores for Redis and the load. The figures to plan with are per core: a cluster node ≈ ${int(one.perHubCore)} posts per core-second of this shape (fewer at a steady pace, above), Redis ≈ ${ms(one.redisUsPerPost)}–${ms(crossRedisUs)} µs per post, i.e. one Redis core would carry on the order of ${approx(1e6 / Math.max(one.redisUsPerPost, crossRedisUs || 0))} posts/s (${int(1e6 / Math.max(one.redisUsPerPost, crossRedisUs || 0) / one.perHubCore)} such nodes) before Redis rather than the nodes is the limit: an extrapolation, valid for exact channels only (every wildcard subscription adds to the cost of every PUBLISH, docs/PERFORMANCE-NOTES.md §3 J).`,
    `- **Not measured here:** nodes on separate hosts (network latency between a node and Redis, and a MongoDB store, which a multi-host cluster needs: here both nodes share LMDB on one host), applications subscribing with wildcards (PSUBSCRIBE patterns), many applications, persistent (clean=false) sessions and QoS 1 to them (docs/PERFORMANCE-NOTES.md §3 H: ~7 Redis commands per message), commands and other downstream traffic, connect storms against a cluster, a node or Redis failing, TLS. Each latency row is the median of ${c.latencyRounds} runs of ${c.latencyMeasureMs / 1000} s: enough to compare topologies run back to back, thin for the tails.`,
    `- **The machine.** A ${r.machine.nproc}-CPU virtual machine shared with other work: the 1-minute load average was ${load(r.loadAverage.start)} when this group started and ${load(r.loadAverage.end)} when it ended, and the "others" columns show how much CPU other processes took during each window (up to ${pct(Math.max(...r.fanIn.map((x) => x.window.cpu.others), ...r.latency.map((x) => x.result.cpu.others)))} of a core). Runs with a high "others" figure are slower for that reason alone; ratios of runs made back to back, and the per-core-second figures, hold up better than absolute rates. None of this is a capacity figure for production.`,
  ];
}

/**
 * Replaces the cluster section between its markers; if it is missing, adds it at the end, or
 * before the certificates section when that one is already there.
 */
export async function writeClusterSection(section: string): Promise<string> {
  const block = `${START}\n${section}\n${END}`;
  if (!existsSync(DOC_PATH)) throw new Error(`${DOC_PATH} is missing; run the REST group first to create it`);
  let doc = await readFile(DOC_PATH, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start >= 0 && end > start) {
    doc = doc.slice(0, start) + block + doc.slice(end + END.length);
  } else {
    const next = doc.indexOf('\n## Certificates and mutual TLS');
    doc =
      next >= 0
        ? `${doc.slice(0, next).trimEnd()}\n\n${HEADING}\n\n${block}\n${doc.slice(next)}`
        : `${doc.trimEnd()}\n\n${HEADING}\n\n${block}\n`;
  }
  await writeFile(DOC_PATH, doc);
  return DOC_PATH;
}
