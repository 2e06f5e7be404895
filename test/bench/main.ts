/**
 * `npm run bench`: the REST registry benchmarks, then the MQTT broker ones (test/bench/mqtt-bench.ts),
 * the cluster ones (test/bench/cluster-bench.ts), the certificate ones (test/bench/cert-bench.ts) and the
 * Apple MDM loop (test/bench/ios-bench.ts);
 * `npm run bench -- rest` (or mqtt, cluster, cert, edge, ios, android, windows, protocol, lb, console, telemetry; several may be named) runs only those groups. Every figure is reported against a peer measured
 * in the same run (see docs/BENCHMARKS.md). Bounded loops on loopback only; a watchdog ends the
 * process if something hangs.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { MAX_BATCH } from '@edgehub/shared';
import { startHub, type RunningHub } from '../src/index.js';
import { startBareServer } from './bare-server.js';
import { describeMachine } from './machine.js';
import { collectGarbage, memorySnapshot, type MemorySnapshot } from './memory.js';
import { renderRestSection, writeRestSection, type RestBenchResults } from './report.js';
import { deviceList, prepareTenant, restBatchCreate, type BatchCreateRun, type BenchTenant } from './rest-batch-create.js';
import { deviceGetLoad, getDevice, randomPicks, type GetTarget } from './rest-device-get.js';
import { storedDevices, storeInsertMany, type StoreInsertRun } from './store-insert.js';
import { mergeLoads, type LoadResult } from './load.js';
import { runMqttBenchmarks } from './mqtt-bench.js';
import { formatSummary, profileDir, startInProcessProfile, summarizeProfile } from './profile.js';
import { runClusterBenchmarks } from './cluster-bench.js';
import { runCertBenchmarks } from './cert-bench.js';
import { runEdgeBenchmarks } from './edge-bench.js';
import { runIosBenchmarks } from './ios-bench.js';
import { runAndroidBenchmarks } from './android-bench.js';
import { runWindowsBenchmarks } from './windows-bench.js';
import { runProtocolBenchmarks } from './protocol-bench.js';
import { runLbBenchmarks } from './lb-bench.js';
import { runConsoleBenchmarks } from './console-bench.js';
import { runStartupBenchmarks } from './startup-bench.js';
import { runTelemetryBenchmarks } from './telemetry-bench.js';

const DEVICES = 10_000;
const BATCH = MAX_BATCH;
const RUNS = 7;
const GET_WARMUP = 500;
const GET_REQUESTS = 20_000;
const CONCURRENCY = 16;
const SEED = 20_240_601;
const WATCHDOG_MS = 5 * 60_000;

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${WATCHDOG_MS / 1000} s; giving up`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

// The benchmarks spawn the compiled hub and edge (as `npm start` and `npm run edge` run them): build them when stale.
if (spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { stdio: 'inherit' }).status !== 0) process.exit(1);

const GROUPS = [
  'rest',
  'mqtt',
  'cluster',
  'cert',
  'edge',
  'ios',
  'android',
  'windows',
  'protocol',
  'lb',
  'console',
  'telemetry',
  'startup',
];
const only = process.argv.slice(2);
const unknown = only.filter((g) => !GROUPS.includes(g));
if (unknown.length > 0) {
  console.error(`bench: unknown group ${unknown.join(', ')}; the groups are ${GROUPS.join(', ')}`);
  process.exit(2);
}
const wants = (group: string) => only.length === 0 || only.includes(group);
/** The groups after rest and mqtt, in order, each with the whole watchdog budget. */
async function runLaterGroups(): Promise<void> {
  if (wants('cluster')) {
    watchdog.refresh();
    await runClusterBenchmarks();
  }
  if (wants('cert')) {
    watchdog.refresh();
    await runCertBenchmarks();
  }
  if (wants('edge')) {
    watchdog.refresh();
    // The edge's five-minute soak refreshes it as it goes.
    await runEdgeBenchmarks(() => watchdog.refresh());
  }
  if (wants('ios')) {
    watchdog.refresh();
    await runIosBenchmarks(() => watchdog.refresh());
  }
  if (wants('android')) {
    watchdog.refresh();
    await runAndroidBenchmarks(() => watchdog.refresh());
  }
  if (wants('windows')) {
    watchdog.refresh();
    await runWindowsBenchmarks(() => watchdog.refresh());
  }
  if (wants('protocol')) {
    watchdog.refresh();
    await runProtocolBenchmarks();
  }
  if (wants('lb')) {
    watchdog.refresh();
    await runLbBenchmarks();
  }
  if (wants('console')) {
    watchdog.refresh();
    await runConsoleBenchmarks();
  }
  if (wants('telemetry')) {
    watchdog.refresh();
    await runTelemetryBenchmarks();
  }
  if (wants('startup')) {
    watchdog.refresh();
    await runStartupBenchmarks();
  }
}
if (!wants('rest')) {
  if (wants('mqtt')) await runMqttBenchmarks();
  await runLaterGroups();
  process.exit(0);
}

const startedAt = new Date();
// Other work on the machine skews everything; record how busy it was so the reader can tell.
const loadAtStart = loadavg()[0] ?? NaN;
const log = (msg: string) => console.error(`[bench] ${msg}`);

// 1. batchCreate through REST vs insertMany into the store, interleaved run by run so that drift
//    (page cache, JIT, thermal) hits both peers alike. Each run uses a fresh hub and a fresh store.
const batchRuns: BatchCreateRun[] = [];
const storeRuns: StoreInsertRun[] = [];
let memory: { before: MemorySnapshot; after: MemorySnapshot; afterGc: MemorySnapshot } | undefined;
let kept: { h: RunningHub; tenant: BenchTenant; assetIds: string[] } | undefined;
let batchBodyBytes = 0;

for (let run = 0; run < RUNS; run++) {
  const h = await startHub();
  const last = run === RUNS - 1;
  let keep = false;
  try {
    const tenant = await prepareTenant(h);
    const devices = deviceList(tenant.productKey, DEVICES);
    batchBodyBytes = Buffer.byteLength(JSON.stringify({ deviceList: devices.slice(0, BATCH) }));
    // 3. Memory around the first load only: RSS rarely shrinks, so later runs would start inflated.
    const before = run === 0 ? memorySnapshot({ gc: true }) : undefined;
    const rest = await restBatchCreate(tenant, devices, BATCH);
    if (before) memory = { before, after: memorySnapshot({ gc: false }), afterGc: memorySnapshot({ gc: true }) };
    batchRuns.push(rest);
    const records = await storedDevices(h, tenant.productKey);
    if (records.length !== DEVICES) throw new Error(`hub stored ${records.length} devices, expected ${DEVICES}`);
    collectGarbage();
    const store = await storeInsertMany(records, BATCH);
    storeRuns.push(store);
    log(`run ${run + 1}/${RUNS}: REST ${rest.devicesPerSec.toFixed(0)} devices/s, store ${store.devicesPerSec.toFixed(0)} devices/s`);
    // The last run's hub, holding its 10,000 devices, serves the device GET benchmark.
    if (last) {
      kept = { h, tenant, assetIds: rest.assetIds };
      keep = true;
    }
  } finally {
    if (!keep) await h.close();
  }
}
if (!kept || !memory) throw new Error('unreachable: no run kept');

// 2. Device GET in the hub now holding 10,000 devices vs a bare fastify route with the same body.
const { h, tenant, assetIds } = kept;
const hubTarget: GetTarget = { client: tenant.client, orgId: tenant.orgId };
const sample = await getDevice(hubTarget, assetIds[0]!);
if (sample.data.assetId !== assetIds[0]) throw new Error('device get answered another device');
const { status: _status, ...envelope } = sample;
const bare = await startBareServer(envelope);
try {
  if (bare.fastifyVersion !== h.hub.api.version)
    throw new Error(`fastify ${bare.fastifyVersion} for the peer but ${h.hub.api.version} in the hub`);
  const bareTarget: GetTarget = { client: bare.client, orgId: tenant.orgId };
  const measure = async (target: GetTarget, picks: string[], concurrency: number): Promise<LoadResult> => {
    collectGarbage();
    return deviceGetLoad(target, picks, concurrency);
  };
  // Hub, bare, bare, hub (half the calls each time), merged per peer: neither peer always goes first.
  const abba = async (picks: string[], concurrency: number) => {
    const half = picks.length >> 1;
    const [first, second] = [picks.slice(0, half), picks.slice(half)];
    const hub1 = await measure(hubTarget, first, concurrency);
    const bare1 = await measure(bareTarget, first, concurrency);
    const bare2 = await measure(bareTarget, second, concurrency);
    const hub2 = await measure(hubTarget, second, concurrency);
    return { hub: mergeLoads([hub1, hub2]), bare: mergeLoads([bare1, bare2]) };
  };
  const warm = randomPicks(assetIds, GET_WARMUP, SEED + 1);
  await measure(hubTarget, warm, 1);
  await measure(bareTarget, warm, 1);
  log(
    `device GET: ${GET_REQUESTS} calls one at a time, then ${GET_REQUESTS} with ${CONCURRENCY} in flight, for the hub and the bare server each`,
  );
  const get = {
    sequential: await abba(randomPicks(assetIds, GET_REQUESTS, SEED), 1),
    concurrent: await abba(randomPicks(assetIds, GET_REQUESTS, SEED + 2), CONCURRENCY),
  };
  // BENCH_PROFILE=<dir>: after the measured runs, one profiled pass of each peer, one call at a time
  // (client and server share this process; test/bench/profile.ts).
  const profiles = profileDir();
  if (profiles) {
    const picks = randomPicks(assetIds, GET_REQUESTS >> 2, SEED + 3);
    for (const [name, target] of [
      ['hub', hubTarget],
      ['bare', bareTarget],
    ] as const) {
      const profiler = await startInProcessProfile();
      await deviceGetLoad(target, picks, 1);
      const profile = await profiler.stop(profiles, `rest-get-${name}`);
      console.log(
        formatSummary(`${name} device GET (client and server in this process)`, summarizeProfile(profile), {
          count: picks.length,
          name: 'GET',
        }),
      );
    }
  }

  const results: RestBenchResults = {
    date: startedAt,
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    machine: describeMachine(),
    loadAverage: { start: loadAtStart, end: loadavg()[0] ?? NaN },
    fastifyVersion: bare.fastifyVersion,
    config: { devices: DEVICES, batch: BATCH, runs: RUNS, getWarmup: GET_WARMUP, getRequests: GET_REQUESTS, concurrency: CONCURRENCY },
    batchCreate: { rest: batchRuns, store: storeRuns },
    memory,
    get,
    deviceBodyBytes: Buffer.byteLength(JSON.stringify(envelope)),
    batchBodyBytes,
  };
  const section = renderRestSection(results);
  console.log(section);
  const path = await writeRestSection(section);
  log(`wrote ${path}`);
} finally {
  await bare.close();
  await h.close();
}

if (wants('mqtt')) {
  // Each group gets the whole watchdog budget.
  watchdog.refresh();
  await runMqttBenchmarks();
}
await runLaterGroups();
