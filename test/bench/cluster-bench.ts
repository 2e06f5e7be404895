/**
 * The `cluster` group of `npm run bench`: a two-node hub cluster over Redis against one hub node,
 * every figure measured in the same run.
 *
 *  1. End-to-end latency device → application on the MQTT stream, at fixed aggregate rates
 *     (test/bench/cluster-latency.ts): one node without Redis, against the cluster with the devices
 *     on node 1 and the application on node 1 (same node) or on node 2 (across Redis). Its three
 *     peers at each rate, on the ingesting node's CPU while the hubs idle: the engine alone (LMDB,
 *     test/bench/lmdb-pace.ts), the broker alone (bare aedes with the same generator,
 *     test/bench/cluster-broker.ts; BENCH_PROFILE=<dir> profiles it) and both in one process (bare
 *     aedes holding each post until its rows are committed to LMDB: the floor of the rows).
 *  2. Fan-in throughput, QoS 1 closed loop (test/bench/mqtt-loadgen.ts, signed CONNECTs): one node
 *     alone (no Redis), node 1 of the cluster alone, and the same load split over both nodes.
 *
 * Placement (2 CPUs): the node that ingests (the single node, cluster node 1) on CPU 0; cluster
 * node 2, Redis and the generators on CPU 1, except in the split fan-in, where the two generators
 * are left to the scheduler (no core is free for them). Writes the `bench:cluster` section of
 * docs/BENCHMARKS.md.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamTopics, topics } from '@edgehub/shared';
import { connectPassword, provision, type ProvisionedDevice } from '../src/index.js';
import { startLatencyBroker, type LatencyBroker } from './cluster-broker.js';
import type { LatencyJob, LatencyResult } from './cluster-latency.js';
import { snapshotCpu, usageBetween } from './cluster-cpu.js';
import {
  commandDelta,
  establishedOn,
  pinTo,
  redisCommandCalls,
  runChildJob,
  startBenchRedis,
  startHubNode,
  type BenchRedis,
  type HubNode,
} from './cluster-procs.js';
import {
  packageVersion,
  renderClusterSection,
  sourceRevision,
  writeClusterSection,
  type BrokerRun,
  type ClusterBenchResults,
  type FanInConfigName,
  type FanInRun,
  type LatencyRun,
  type LatencyTopology,
} from './cluster-report.js';
import { diskSyncLatency, hubTail, readHubMetrics } from './latency-causes.js';
import type { LmdbPaceJob, LmdbPaceResult } from './lmdb-pace.js';
import { describeMachine } from './machine.js';
import type { ConnectSpec } from './mqtt-frames.js';
import { MEASUREPOINT_BODY } from './mqtt-frames.js';
import type { FanInJob, FanInResult } from './mqtt-loadgen.js';
import { canPin, clockTicks } from './mqtt-proc.js';

export const clusterConfig = {
  /** Latency: devices posting, and the aggregate rates (posts/s, all devices together). */
  latencyDevices: 100,
  /** BENCH_CLUSTER_RATES (comma-separated) overrides them while developing. */
  rates: process.env.BENCH_CLUSTER_RATES ? process.env.BENCH_CLUSTER_RATES.split(',').map(Number) : [1_000, 5_000],
  latencyQos: 1 as const,
  latencyWarmupMs: 700,
  /**
   * The first run on a freshly started node posts this long before its window opens. A node's
   * first seconds of posts are its JIT warm-up, on the one core it is pinned to (V8's optimizing
   * compiler threads share that core with the event loop), and until V8's first full collection
   * (about 12 s after the start in the bench's GC logs, with the start's and the provisioning's
   * garbage in the old generation) each scavenge takes 12–24 ms instead of 2–6. With 0.7 s the
   * first window's p99 at 1,000/s was 42–56 ms against 4–5 ms in the next one; with 4 s, 8–10 ms
   * (docs/BENCHMARKS.md, "Device → application latency: the tail"). Every later run keeps the
   * short warm-up.
   */
  latencyFirstWarmupMs: 8_000,
  latencyMeasureMs: 2_500,
  drainMs: 1_000,
  /**
   * Each latency round runs every topology at every rate; the order flips from one round to the
   * next. Three, so that the median of a tail is not the mean of one good and one bad run.
   */
  latencyRounds: 3,
  /** Fan-in: publishers and publishes in flight per publisher, as in the MQTT group. */
  fanInPublishers: 200,
  window: 10,
  fanInWarmupMs: 1_000,
  fanInMeasureMs: 2_500,
  /**
   * How much longer each generator loads than our window needs: with two generators, the most
   * their start may differ by; with one, a margin for polling.
   */
  skewSlackMs: 1_500,
  singleSlackMs: 300,
  /** Each round runs every fan-in configuration once; the order flips from round to round. */
  rounds: 3,
  ingestCpu: 0,
  otherCpu: 1,
};
export type ClusterConfig = typeof clusterConfig;

const THING_MODEL = { thingModel: { measurepoints: { temp: { dataType: 'DOUBLE' }, seq: { dataType: 'INT' } } } };
const FAN_IN_CONFIGS: FanInConfigName[] = ['single', 'cluster-one', 'cluster-split'];
const LATENCY_TOPOLOGIES: LatencyTopology[] = ['single', 'cluster-local', 'cluster-cross'];

const log = (msg: string) => console.error(`[bench:cluster] ${msg}`);

interface Fleet {
  node: HubNode;
  latency: ProvisionedDevice[];
  fanIn: ProvisionedDevice[];
}

/** The same two products in a hub (or a cluster, through its node 1): latency devices and fan-in devices. */
async function provisionFleet(node: HubNode): Promise<Fleet> {
  const orgId = node.creds.orgId;
  const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
  const latency = await provision(node.admin, orgId, {
    productType: 'Device',
    deviceKeys: keys('lat', clusterConfig.latencyDevices),
    product: THING_MODEL,
  });
  const fanIn = await provision(node.admin, orgId, {
    productType: 'Device',
    deviceKeys: keys('fan', clusterConfig.fanInPublishers),
    product: THING_MODEL,
  });
  return { node, latency: latency.devices, fanIn: fanIn.devices };
}

/** A signed EnOS CONNECT (securemode 2, sha256), as mqtt-bench.ts builds it. */
function signedConnect(d: ProvisionedDevice, timestamp: string): ConnectSpec {
  return {
    clientId: `${d.deviceKey}|securemode=2,signmethod=sha256,timestamp=${timestamp}|`,
    username: `${d.deviceKey}&${d.productKey}`,
    password: connectPassword(d.deviceKey, d, timestamp, 'sha256'),
  };
}

/** An application on the stream: `{cid}|authtype=app,timestamp=…|`, username accessKey, sha256(accessKey + ts + accessSecret). */
function appConnect(node: HubNode, cid: string): ConnectSpec {
  const ts = String(Date.now());
  const { accessKey, accessSecret } = node.creds;
  return {
    clientId: `${cid}|authtype=app,timestamp=${ts}|`,
    username: accessKey,
    password: createHash('sha256')
      .update(accessKey + ts + accessSecret, 'utf8')
      .digest('hex'),
  };
}

async function waitUntil(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * A latency job of the fleet's devices posting at `rate` to `devicePort` (their signed CONNECTs, the
 * measurepoint post topic), the pace and window of clusterConfig; the caller adds what is received
 * where (`apps`, `receives`) and whose CPU is sampled.
 */
function pacedJob(
  fleet: Fleet,
  devicePort: number,
  rate: number,
  warmupMs: number,
  rest: Pick<LatencyJob, 'apps' | 'pids' | 'clkTck'> & Partial<Pick<LatencyJob, 'receives'>>,
): LatencyJob {
  const c = clusterConfig;
  const ts = String(Date.now());
  return {
    kind: 'latency',
    devicePort,
    devices: fleet.latency.map((d) => ({ ...signedConnect(d, ts), topic: topics.measurepointPost(d.productKey, d.deviceKey) })),
    rate,
    qos: c.latencyQos,
    warmupMs,
    measureMs: c.latencyMeasureMs,
    drainMs: c.drainMs,
    deadlineMs: warmupMs + c.latencyMeasureMs + c.drainMs + 30_000,
    ...rest,
  };
}

/** Nodes that have had their first latency run (and with it the long warm-up: latencyFirstWarmupMs). */
const warmedNodes = new WeakSet<HubNode>();

async function latencyRun(
  topology: LatencyTopology,
  rate: number,
  fleet: Fleet,
  app: HubNode,
  pids: Record<string, number>,
  redis: BenchRedis | undefined,
  clkTck: number,
): Promise<Omit<LatencyRun, 'round'>> {
  const c = clusterConfig;
  const orgId = fleet.node.creds.orgId;
  const warmupMs = warmedNodes.has(fleet.node) ? c.latencyWarmupMs : c.latencyFirstWarmupMs;
  warmedNodes.add(fleet.node);
  const job = pacedJob(fleet, fleet.node.mqttPort, rate, warmupMs, {
    apps: [
      {
        name: app.name,
        port: app.mqttPort,
        connect: appConnect(app, 'bench-app'),
        filters: fleet.latency.map((d) => streamTopics.measurepoints(orgId, d.productKey, d.deviceKey)),
      },
    ],
    pids,
    clkTck,
  });
  // The disk's own commit floor on the store's file system, then the run with the ingesting node's
  // append times, GC pauses and event-loop delay read around it (test/bench/latency-causes.ts).
  const diskSync = diskSyncLatency(fleet.node.dataDir);
  const metricsBefore = await readHubMetrics(fleet.node.baseUrl);
  const before = redis ? redisCommandCalls(redis) : undefined;
  const result = await runChildJob<LatencyResult>('cluster-latency.ts', job, { cpu: c.otherCpu, killAfterMs: job.deadlineMs + 15_000 });
  const redisCommands = redis && before ? commandDelta(before, redisCommandCalls(redis)) : undefined;
  const tail = hubTail(metricsBefore, await readHubMetrics(fleet.node.baseUrl));
  if (result.badReplies > 0) throw new Error(`latency ${topology} at ${rate}/s: ${result.badReplies} replies without "code":200`);
  const a = result.apps[0]!;
  log(
    `latency ${topology} ${rate}/s (app on ${a.name}): p50 ${fix(a.latency.p50)} ms, p90 ${fix(a.latency.p90)} ms, p99 ${fix(a.latency.p99)} ms, p99.9 ${fix(a.latency.p999)} ms, max ${fix(a.latency.max, 1)} ms; ${a.received}/${a.expected} received; ` +
      `CPU ${Object.entries(result.cpu.procs)
        .map(([k, v]) => `${k} ${pct(v.cores)} (sys ${pct(v.system)})`)
        .join(', ')}, others ${pct(result.cpu.others)}; ` +
      `store appends ${tail.appends} (mean ${tail.appendMeanMs.toFixed(2)} ms, p99 <= ${tail.appendP99Ms} ms, ${tail.appendsOver5Ms} > 5 ms, ${tail.appendsOver10Ms} > 10 ms), ` +
      `GC ${tail.gcPauses} pauses ${tail.gcTotalMs.toFixed(0)} ms (${tail.gcOver5Ms} > 5 ms, ${tail.gcOver10Ms} > 10 ms), event-loop delay max ${tail.loopLagMaxMs.toFixed(1)} ms; ` +
      `disk sync (2 x write+fdatasync) p50 ${diskSync.p50.toFixed(2)} / p99 ${diskSync.p99.toFixed(2)} / max ${diskSync.max.toFixed(1)} ms`,
  );
  return { topology, rate, result, hubTail: tail, diskSync, ...(redisCommands ? { redisCommands } : {}) };
}

/** The peer of the latency rows: LMDB alone at `rate`, pinned to the ingesting node's CPU (test/bench/lmdb-pace.ts). */
async function engineRun(rate: number, dir: string): Promise<LmdbPaceResult> {
  const c = clusterConfig;
  const job: LmdbPaceJob = {
    kind: 'lmdb-pace',
    dir,
    rate,
    devices: c.latencyDevices,
    warmupMs: c.latencyWarmupMs,
    measureMs: c.latencyMeasureMs,
    drainMs: c.drainMs,
  };
  const r = await runChildJob<LmdbPaceResult>('lmdb-pace.ts', job, { cpu: c.ingestCpu, killAfterMs: 60_000 });
  log(
    `engine alone (LMDB, same rows and pace) ${rate}/s: p50 ${fix(r.latency.p50)} ms, p90 ${fix(r.latency.p90)} ms, p99 ${fix(r.latency.p99)} ms, max ${fix(r.latency.max, 1)} ms; ` +
      `${r.committed}/${r.posted} committed in ${r.commits} commits; CPU ${r.cpuPerPostUs.toFixed(0)} µs per post (sys ${r.sysPerPostUs.toFixed(0)})`,
  );
  return r;
}

/**
 * The second peer of the latency rows: bare aedes (the broker the hub is built on) at `rate`,
 * pinned to the ingesting node's CPU as the hub node is, the same devices (the same signed CONNECT
 * frames, which bare aedes accepts without checking) posting the same bodies at the same pace
 * through the same generator on the other CPU, and one application subscribed to exactly the
 * devices' publish topics: bare aedes forwards each device's PUBLISH itself (no `_reply`, no
 * stream event, no store). The hubs idle meanwhile. `warmUp`: a run that is logged, not reported.
 */
async function brokerRun(
  rate: number,
  fleet: Fleet,
  broker: LatencyBroker,
  clkTck: number,
  warmUp = false,
): Promise<Omit<BrokerRun, 'round'>> {
  const c = clusterConfig;
  await waitUntil('bare aedes: connections of the previous run closed', () => establishedOn(broker.port) === 0, 10_000);
  const job = pacedJob(fleet, broker.port, rate, c.latencyWarmupMs, {
    apps: [
      {
        name: 'broker',
        port: broker.port,
        connect: { clientId: 'bench-app', username: 'bench-app', password: 'unchecked' },
        filters: fleet.latency.map((d) => topics.measurepointPost(d.productKey, d.deviceKey)),
      },
    ],
    receives: 'post',
    pids: { broker: broker.pid },
    clkTck,
  });
  const result = await runChildJob<LatencyResult>('cluster-latency.ts', job, { cpu: c.otherCpu, killAfterMs: job.deadlineMs + 15_000 });
  if (result.replies + result.badReplies > 0)
    throw new Error(
      `broker alone at ${rate}/s: the devices received ${result.replies + result.badReplies} messages (bare aedes sends no replies)`,
    );
  const a = result.apps[0]!;
  const cpu = result.cpu.procs['broker'];
  const perPost = (n: number | undefined) => ((n ?? NaN) / result.achievedRate) * 1e6;
  log(
    `${broker.durable ? 'broker + engine' : 'broker alone'}${warmUp ? ' (warm-up, not reported)' : ''} (bare ${broker.version}, same devices and pace) ${rate}/s: p50 ${fix(a.latency.p50)} ms, p90 ${fix(a.latency.p90)} ms, p99 ${fix(a.latency.p99)} ms, max ${fix(a.latency.max, 1)} ms; ` +
      `${a.received}/${a.expected} received, PUBACK p50 ${fix(result.ackLatency?.p50 ?? null)} / p99 ${fix(result.ackLatency?.p99 ?? null)} ms; ` +
      `CPU ${perPost(cpu?.cores).toFixed(0)} µs per post (sys ${perPost(cpu?.system).toFixed(0)}), broker ${pct(cpu?.cores ?? NaN)} of its core, generator ${pct(result.cpu.procs['generator']?.cores ?? NaN)}, others ${pct(result.cpu.others)}`,
  );
  return { rate, version: broker.version, result };
}

/**
 * Bare aedes for the latency phase: started once, like the hub node it is compared with, and warmed
 * with one unreported run, since a freshly started broker spends markedly more CPU per post in its
 * first seconds (the hub node, too, has served the provisioning and earlier runs before it is measured).
 */
async function startWarmBroker(fleet: Fleet, clkTck: number, storeDir?: string): Promise<LatencyBroker> {
  const broker = await startLatencyBroker(clusterConfig.ingestCpu, storeDir);
  try {
    await brokerRun(clusterConfig.rates[0]!, fleet, broker, clkTck, true);
    return broker;
  } catch (err) {
    await broker.stop();
    throw err;
  }
}

/** A figure of the generator's summary: NaN (nothing received) arrives as null through JSON. */
const fix = (n: number | null, digits = 2) => (n === null || Number.isNaN(n) ? '—' : n.toFixed(digits));

const pct = (n: number) => `${(n * 100).toFixed(0)}%`;

/** `edgehub_mqtt_replies_total{code="200"}` of one node (its /metrics), i.e. posts answered with success. */
async function successReplies(node: HubNode): Promise<number> {
  const text = await (await fetch(`${node.baseUrl}/metrics`)).text();
  const m = /^edgehub_mqtt_replies_total\{code="200"\} (\d+)/m.exec(text);
  return Number(m?.[1] ?? 0);
}

/**
 * One fan-in configuration: one generator per node in use, started together. The generators do
 * not start measuring at the same moment (each starts a warm-up after its own last CONNACK, and
 * process start-up differs), so the figures in the table come from one window of our own: it
 * opens a warm-up after the last publisher of all is connected (watched in /proc/net/tcp), and
 * every generator keeps loading `skewSlackMs` longer than its own window so that ours ends before
 * any of them stops. Replies are counted by the nodes' own metrics over that window.
 */
async function fanInRun(
  config: FanInConfigName,
  round: number,
  nodes: HubNode[],
  specs: (ConnectSpec & { topic: string })[],
  redis: BenchRedis,
  clkTck: number,
): Promise<FanInRun> {
  const c = clusterConfig;
  for (const n of nodes)
    await waitUntil(`${n.name}: connections of the previous run closed`, () => establishedOn(n.mqttPort) === 0, 10_000);
  const share = Math.ceil(specs.length / nodes.length);
  const split = config === 'cluster-split';
  const slack = nodes.length > 1 ? c.skewSlackMs : c.singleSlackMs;
  const jobs = nodes.map((n, i): FanInJob => ({
    kind: 'fanin',
    port: n.mqttPort,
    brokerPid: n.pid,
    clkTck,
    deadlineMs: c.fanInWarmupMs + c.fanInMeasureMs + slack + 30_000,
    qos: 1,
    publishers: specs.slice(i * share, (i + 1) * share),
    body: MEASUREPOINT_BODY,
    expect: '"code":200,',
    window: c.window,
    warmupMs: c.fanInWarmupMs,
    measureMs: c.fanInMeasureMs + slack,
  }));
  const pids: Record<string, number> = Object.fromEntries([...nodes.map((n) => [n.name, n.pid] as const), ['redis', redis.pid] as const]);
  const t0 = performance.now();
  const runs = jobs.map((job, i) =>
    runChildJob<FanInResult>('mqtt-loadgen.ts', job, {
      // The split run has no free core for its generators: the scheduler places them.
      ...(split ? {} : { cpu: c.otherCpu }),
      killAfterMs: job.deadlineMs + 15_000,
      onSpawn: (pid) => (pids[nodes.length > 1 ? `generator${i + 1}` : 'generator'] = pid),
    }),
  );
  const sampled = (async () => {
    const connectedAt: number[] = nodes.map(() => NaN);
    await waitUntil(
      `${config}: publishers connected`,
      () => {
        nodes.forEach((n, i) => {
          if (Number.isNaN(connectedAt[i]!) && establishedOn(n.mqttPort) >= (jobs[i]?.publishers.length ?? 0))
            connectedAt[i] = performance.now() - t0;
        });
        return connectedAt.every((t) => !Number.isNaN(t));
      },
      30_000,
    );
    await sleep(c.fanInWarmupMs);
    const replies0 = await Promise.all(nodes.map(successReplies));
    const cpu0 = snapshotCpu(pids, clkTck);
    const calls0 = redisCommandCalls(redis);
    await sleep(c.fanInMeasureMs);
    const cpu = usageBetween(cpu0, snapshotCpu(pids, clkTck));
    const replies1 = await Promise.all(nodes.map(successReplies));
    const calls1 = redisCommandCalls(redis);
    const replies = replies1.map((r, i) => r - (replies0[i] ?? r));
    return {
      cpu,
      redisCommands: commandDelta(calls0, calls1),
      replies,
      connectedAtMs: connectedAt,
      skewMs: Math.max(...connectedAt) - Math.min(...connectedAt),
    };
  })();
  const [results, window] = await Promise.all([Promise.all(runs), sampled]);
  for (const [i, r] of results.entries()) {
    if (r.wrong > 0) throw new Error(`${config} on ${nodes[i]?.name}: ${r.wrong} replies without "code":200`);
    if (r.delivered === 0) throw new Error(`${config} on ${nodes[i]?.name}: nothing delivered`);
  }
  if (window.skewMs > slack)
    throw new Error(
      `${config}: the generators connected ${Math.round(window.skewMs)} ms apart, more than the ${slack} ms the window allows`,
    );
  const rate = window.replies.reduce((a, b) => a + b, 0) / window.cpu.seconds;
  log(
    `round ${round + 1}/${c.rounds} ${config}: ${Math.round(rate)} replies/s (generators' own windows: ${results.map((r) => Math.round(r.delivered / r.seconds)).join(' + ')}); ` +
      `CPU ${Object.entries(window.cpu.procs)
        .map(([k, v]) => `${k} ${pct(v.cores)} (sys ${pct(v.system)})`)
        .join(', ')}, others ${pct(window.cpu.others)}` +
      (nodes.length > 1 ? `; generators connected ${Math.round(window.skewMs)} ms apart` : ''),
  );
  return { config, round, nodes: nodes.map((n) => n.name), results, window };
}

/** Runs both parts, rewrites the cluster section of docs/BENCHMARKS.md and returns the raw results. */
/** BENCH_CLUSTER_LATENCY_ONLY=1: only the one-node latency runs, logged and not written (for development). */
const LATENCY_SINGLE_ONLY = process.env.BENCH_CLUSTER_LATENCY_ONLY === '1';

export async function runClusterBenchmarks(): Promise<ClusterBenchResults | undefined> {
  const c = clusterConfig;
  const startedAt = new Date();
  const loadAtStart = loadavg()[0] ?? NaN;
  const revision = sourceRevision();
  const clkTck = clockTicks();
  const singleDir = await mkdtemp(join(tmpdir(), 'edgehub-bench-single-'));
  const clusterDir = await mkdtemp(join(tmpdir(), 'edgehub-bench-cluster-'));
  const engineDir = await mkdtemp(join(tmpdir(), 'edgehub-bench-engine-'));
  const floorDir = await mkdtemp(join(tmpdir(), 'edgehub-bench-floor-'));
  const started: HubNode[] = [];
  let redis: BenchRedis | undefined;
  let broker: LatencyBroker | undefined;
  /** The broker and the engine in one process (bare aedes holding each post until it is durable). */
  let floorBroker: LatencyBroker | undefined;
  try {
    redis = await startBenchRedis();
    pinTo(redis.pid, [c.otherCpu]);
    const single = await startHubNode('single', singleDir, c.ingestCpu);
    started.push(single);
    if (LATENCY_SINGLE_ONLY) {
      // Development: the one-node latency alone, logged, nothing written (test/bench/cluster-latency.ts).
      const fleet = await provisionFleet(single);
      broker = await startWarmBroker(fleet, clkTck);
      floorBroker = await startWarmBroker(fleet, clkTck, floorDir);
      for (let round = 0; round < c.latencyRounds; round++)
        for (const rate of c.rates) {
          await latencyRun('single', rate, fleet, single, { single: single.pid }, undefined, clkTck);
          await engineRun(rate, engineDir);
          await brokerRun(rate, fleet, broker, clkTck);
          await brokerRun(rate, fleet, floorBroker, clkTck);
        }
      return undefined;
    }
    const env = { REDIS_URL: redis.url };
    const node1 = await startHubNode('node1', clusterDir, c.ingestCpu, { ...env, HUB_NODE_ID: 'node-1' });
    started.push(node1);
    const node2 = await startHubNode('node2', clusterDir, c.otherCpu, { ...env, HUB_NODE_ID: 'node-2' });
    started.push(node2);
    log(`hubs up: single pid ${single.pid}, node1 pid ${node1.pid}, node2 pid ${node2.pid}, redis pid ${redis.pid} (${redis.url})`);
    const singleFleet = await provisionFleet(single);
    const clusterFleet = await provisionFleet(node1);
    const idle = { channels: redis.info('stats')['pubsub_channels'] ?? '?', patterns: redis.info('stats')['pubsub_patterns'] ?? '?' };

    log(
      `latency: ${c.latencyDevices} devices at ${c.rates.join(' and ')} posts/s, QoS ${c.latencyQos}, ${c.latencyRounds} rounds × ${LATENCY_TOPOLOGIES.length} topologies, ${c.latencyWarmupMs / 1000} s warm-up (${c.latencyFirstWarmupMs / 1000} s in a node's first run) + ${c.latencyMeasureMs / 1000} s`,
    );
    const latency: LatencyRun[] = [];
    const engine: LmdbPaceResult[] = [];
    const brokerRuns: BrokerRun[] = [];
    const floorRuns: BrokerRun[] = [];
    broker = await startWarmBroker(singleFleet, clkTck);
    floorBroker = await startWarmBroker(singleFleet, clkTck, floorDir);
    const clusterPids = { node1: node1.pid, node2: node2.pid, redis: redis.pid };
    let turn = 0;
    for (let round = 0; round < c.latencyRounds; round++) {
      for (const rate of c.rates) {
        const order = turn++ % 2 === 0 ? LATENCY_TOPOLOGIES : [...LATENCY_TOPOLOGIES].reverse();
        for (const topology of order) {
          const run =
            topology === 'single'
              ? await latencyRun(topology, rate, singleFleet, single, { single: single.pid }, undefined, clkTck)
              : await latencyRun(topology, rate, clusterFleet, topology === 'cluster-cross' ? node2 : node1, clusterPids, redis, clkTck);
          latency.push({ ...run, round });
        }
        engine.push(await engineRun(rate, engineDir));
        brokerRuns.push({ ...(await brokerRun(rate, singleFleet, broker, clkTck)), round });
        floorRuns.push({ ...(await brokerRun(rate, singleFleet, floorBroker, clkTck)), round });
      }
    }
    await broker.stop();
    broker = undefined;
    await floorBroker.stop();
    floorBroker = undefined;

    log(
      `fan-in: ${c.fanInPublishers} publishers, QoS 1, ${c.window} in flight each, ${c.rounds} rounds × ${FAN_IN_CONFIGS.length} configurations × ${(c.fanInWarmupMs + c.fanInMeasureMs) / 1000} s`,
    );
    const ts = String(Date.now());
    const specsOf = (fleet: Fleet) =>
      fleet.fanIn.map((d) => ({ ...signedConnect(d, ts), topic: topics.measurepointPost(d.productKey, d.deviceKey) }));
    const singleSpecs = specsOf(singleFleet);
    const clusterSpecs = specsOf(clusterFleet);
    const fanIn: FanInRun[] = [];
    for (let round = 0; round < c.rounds; round++) {
      const order = round % 2 === 0 ? FAN_IN_CONFIGS : [...FAN_IN_CONFIGS].reverse();
      for (const config of order) {
        const nodes = config === 'single' ? [single] : config === 'cluster-one' ? [node1] : [node1, node2];
        fanIn.push(await fanInRun(config, round, nodes, config === 'single' ? singleSpecs : clusterSpecs, redis, clkTck));
      }
    }

    const results: ClusterBenchResults = {
      date: startedAt,
      durationS: (Date.now() - startedAt.getTime()) / 1000,
      machine: describeMachine(),
      loadAverage: { start: loadAtStart, end: loadavg()[0] ?? NaN },
      pinned: canPin(),
      revision,
      redisVersion: redis.version,
      versions: Object.fromEntries(['aedes', 'mqemitter-redis', 'aedes-persistence-redis', 'ioredis'].map((p) => [p, packageVersion(p)])),
      idleSubscriptions: idle,
      config: c,
      fanInBodyBytes: Buffer.byteLength(MEASUREPOINT_BODY),
      latency,
      engine,
      broker: brokerRuns,
      floor: floorRuns,
      fanIn,
    };
    const section = renderClusterSection(results);
    console.log(section);
    log(`wrote ${await writeClusterSection(section)}`);
    return results;
  } finally {
    await broker?.stop().catch((err: unknown) => log(`stopping bare aedes: ${String(err)}`));
    await floorBroker?.stop().catch((err: unknown) => log(`stopping bare aedes + LMDB: ${String(err)}`));
    for (const n of started.reverse()) await n.stop().catch((err: unknown) => log(`stopping ${n.name}: ${String(err)}`));
    await redis?.stop().catch((err: unknown) => log(`stopping redis: ${String(err)}`));
    await rm(singleDir, { recursive: true, force: true });
    await rm(clusterDir, { recursive: true, force: true });
    await rm(engineDir, { recursive: true, force: true });
    await rm(floorDir, { recursive: true, force: true });
  }
}
