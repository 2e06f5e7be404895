/**
 * The edge group of `npm run bench`: the edge binary polling 200 simulated Modbus TCP devices of
 * 10 points each and forwarding them to the hub binary, at the issue's load (every device every
 * second) and at ten times that (every 100 ms, the fastest poll the edge config allows). Peers in
 * the same run: a bare modbus-serial loop polling the same registers at the same rate with no
 * uplink (test/bench/edge-bare-poller.ts), what the edge costs beyond Modbus polling; and an
 * MQTT endpoint that answers the edge's requests at once (test/bench/edge-responder.ts), what the
 * edge sustains when the hub does not set the pace.
 *
 * Placement (2 CPUs): the process under test (the edge, or the bare poller) alone on CPU 1; the
 * hub or the responder, the Modbus farm (test/bench/edge-modbus-farm.ts) and this process, which
 * holds the application that measures delivery on the hub's MQTT stream, share CPU 0. Then the
 * edge and the bare loop side by side for five minutes, for their memory (test/bench/edge-soak.ts).
 * Writes the `bench:edge` section of docs/BENCHMARKS.md. About 6 minutes; every child is killed at the end, also
 * on failure.
 *
 *   npm run bench                                 (with the other groups, once main.ts runs it)
 *   node --import tsx test/bench/edge-bench.ts    (this group alone)
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import { ApiClient } from '@edgehub/hub';
import { connectApp, provision, repoRoot, spawnHub, type AdminCredentials } from '../src/index.js';
import { benchRegisterMap, benchThingModel, decodeRegisters, POINTS, registersAt } from './edge-points.js';
import {
  EDGE_CPU,
  REST_CPU,
  affinityOf,
  edgeNodeFlags,
  setAffinity,
  startBarePoller,
  startEdge,
  startFarm,
  startResponder,
  stopChild,
  track,
  type BenchEdge,
  type Farm,
} from './edge-procs.js';
import { renderEdgeSection, writeEdgeSection, type EdgeBenchResults, type EdgeRun, type Window } from './edge-report.js';
import { describeMachine } from './machine.js';
import { canPin, clockTicks, cpuBusySeconds, cpuSeconds, pinProcess, residentBytes } from './mqtt-proc.js';
import { soakRun, type SoakResult } from './edge-soak.js';
import { summarize } from './stats.js';

/**
 * `live`: the farm answers only once the edge is connected, has logged every sub-device in and
 * gone live, so the window sees its steady state. `cold`: the farm answers from the start, as in
 * the field when an edge boots: what it polls before its uplink is ready goes to its buffer first.
 */
export type EdgeStart = 'live' | 'cold';
export type RunSpec = { peer: 'edge'; intervalMs: number; uplink: UplinkKind; start: EdgeStart } | { peer: 'bare'; intervalMs: number };
export type UplinkKind = 'hub' | 'responder';

export const edgeConfig = {
  devices: 200,
  points: POINTS,
  /**
   * In this order: the issue's load (every device every second) against the hub, and the bare
   * loop; ten times it (every 100 ms, the fastest poll the edge config allows) against the
   * instant responder, so that the edge sets the pace, and the bare loop; the same against the
   * hub; and the same again from a cold start.
   */
  runs: [
    { peer: 'edge', intervalMs: 1000, uplink: 'hub', start: 'live' },
    { peer: 'bare', intervalMs: 1000 },
    { peer: 'edge', intervalMs: 100, uplink: 'responder', start: 'live' },
    { peer: 'bare', intervalMs: 100 },
    { peer: 'edge', intervalMs: 100, uplink: 'hub', start: 'live' },
    { peer: 'edge', intervalMs: 100, uplink: 'responder', start: 'cold' },
  ] as RunSpec[],
  /** Modbus request timeout per device (the edge's default). */
  modbusTimeoutMs: 1000,
  /** After every sub-device is logged in and has delivered (or the wait below ran out), before the window. */
  warmupMs: 2_000,
  /** The measured window at each poll interval. */
  measureMs: { 1000: 8_000, 100: 6_000 } as Record<number, number>,
  /** RSS is sampled this often during a window. */
  rssEveryMs: 500,
  /** Longest wait for the edge to start and log every sub-device in. */
  readyTimeoutMs: 30_000,
  /** Longest wait, after that, for every sub-device to have delivered; an overloaded uplink is measured as it is. */
  deliveringTimeoutMs: 15_000,
  /**
   * After the windows: the edge (→ hub) and the bare loop side by side at the issue's load for
   * `seconds`, their resident sets sampled every `sampleEveryS` (test/bench/edge-soak.ts).
   * `BENCH_EDGE_SOAK_S` sets the length (0: none); with `BENCH_EDGE_INTERVALS` it runs only if set.
   */
  soak: { intervalMs: 1000, seconds: 300, sampleEveryS: 10 },
};
export type EdgeBenchConfig = typeof edgeConfig;

const GATEWAY_KEY = 'bench-edge';
const MODEL = 'bench10';
const subKey = (i: number) => `sub-${String(i).padStart(3, '0')}`;

const log = (msg: string) => console.error(`[bench:edge] ${msg}`);

interface Delivery {
  arrival: number;
  time: number;
  resumed: boolean;
}

/**
 * The application on the hub's MQTT stream: every `measurepoints` event of the sub-devices (one
 * per reading of one device, live or resumed from the edge's buffer) is counted, and while a
 * window is open its arrival time is kept beside the reading's time. A few values are checked
 * against what the farm served.
 */
class StreamWatch {
  readonly seen = new Set<string>();
  private samples: Delivery[] | undefined;
  private points = 0;
  private checked = 0;
  private wrong = 0;

  constructor(
    app: MqttClient,
    private readonly subProductKey: string,
  ) {
    app.on('message', (_topic, payload) => this.onEvent(payload));
  }

  private onEvent(payload: Buffer): void {
    const arrival = Date.now();
    const e = JSON.parse(payload.toString('utf8')) as {
      type: string;
      productKey: string;
      deviceKey: string;
      time: number;
      resume: boolean;
      measurepoints: Record<string, { value: unknown }>;
    };
    if (e.type !== 'measurepoints' || e.productKey !== this.subProductKey) return;
    this.seen.add(e.deviceKey);
    if (!this.samples) return;
    this.samples.push({ arrival, time: e.time, resumed: e.resume });
    this.points += Object.keys(e.measurepoints).length;
    // One event in 50: the decoded values are those the device served around the reading's time.
    if (this.samples.length % 50 === 1) this.check(e.deviceKey, e.time, e.measurepoints);
  }

  private check(deviceKey: string, time: number, mps: Record<string, { value: unknown }>): void {
    this.checked++;
    const expected = decodeRegisters(registersAt(Number(deviceKey.slice(4)), time));
    // The device answers a few ms after the poll started: allow for the values' drift meanwhile
    // (i* move by at most 14.3/s, f* by 0.91/s), not for a wrong scale, sign or word order.
    const ok = Object.entries(expected).every(([id, v]) => {
      const got = mps[id]?.value;
      return typeof got === 'number' && Math.abs(got - v) <= (id.startsWith('i') ? 5 : 0.3);
    });
    if (!ok) this.wrong++;
  }

  open(): void {
    this.samples = [];
    this.points = 0;
    this.checked = 0;
    this.wrong = 0;
  }

  close(): { samples: Delivery[]; points: number; checked: number; wrong: number } {
    const out = { samples: this.samples ?? [], points: this.points, checked: this.checked, wrong: this.wrong };
    this.samples = undefined;
    return out;
  }
}

interface UplinkCounters {
  postBatch: number;
  resumeBatch: number;
  /** Requests of any kind. */
  messages: number;
  /** Replies with a code other than 200 (the responder has none). */
  notOk: number;
}

/** Where the edge's MQTT uplink goes, and how deliveries are observed there. */
interface UplinkTarget {
  kind: UplinkKind;
  mqttUrl: string;
  /** The process answering the uplink (on CPU 0). */
  pid: number;
  /** Sub-devices that delivered at least one reading (live or resumed) since the run began. */
  seen(): Promise<number>;
  counters(): Promise<UplinkCounters>;
  open(): void;
  close(): Promise<{ samples: Delivery[]; points: number; checked: number; wrong: number }>;
  stop(): Promise<void>;
}

/** The hub's own counters (/metrics): PUBLISH packets in, by kind, and replies by code. */
async function hubCounters(baseUrl: string): Promise<UplinkCounters> {
  const r = await fetch(`${baseUrl}/metrics`);
  if (!r.ok) throw new Error(`hub /metrics answered ${r.status}`);
  const text = await r.text();
  const out: UplinkCounters = { postBatch: 0, resumeBatch: 0, messages: 0, notOk: 0 };
  for (const m of text.matchAll(/^edgehub_mqtt_messages_in_total\{kind="([^"]+)"\} (\S+)$/gm)) {
    const n = Number(m[2]);
    out.messages += n;
    if (m[1] === 'measurepointPostBatch') out.postBatch += n;
    if (m[1] === 'measurepointResumeBatch') out.resumeBatch += n;
  }
  for (const m of text.matchAll(/^edgehub_mqtt_replies_total\{code="([^"]+)"\} (\S+)$/gm)) if (m[1] !== '200') out.notOk += Number(m[2]);
  return out;
}

function hubTarget(hub: { baseUrl: string; mqttUrl: string; pid: number }, watch: StreamWatch): UplinkTarget {
  watch.seen.clear();
  return {
    kind: 'hub',
    mqttUrl: hub.mqttUrl,
    pid: hub.pid,
    seen: async () => watch.seen.size,
    counters: () => hubCounters(hub.baseUrl),
    open: () => watch.open(),
    close: async () => watch.close(),
    stop: async () => undefined,
  };
}

async function responderTarget(): Promise<UplinkTarget> {
  const r = await startResponder();
  return {
    kind: 'responder',
    mqttUrl: r.mqttUrl,
    pid: r.pid,
    seen: async () => (await r.counts()).seen,
    counters: async () => {
      const c = await r.counts();
      return { postBatch: c.postBatch, resumeBatch: c.resumeBatch, messages: c.messages, notOk: 0 };
    },
    open: () => r.open(),
    close: async () => ({ ...(await r.close()), checked: 0, wrong: 0 }),
    stop: () => r.stop(),
  };
}

interface Pids {
  /** The hub, or the responder standing in for it. */
  hub: number;
  farm: number;
  /** The process under test on CPU 1: the edge or the bare poller. */
  measured: number;
}

interface Snapshot {
  at: number;
  cpu: { measured: number; hub: number; farm: number; bench: number };
  busy: number[];
  served: number;
}

function snapshot(pids: Pids, clkTck: number): Omit<Snapshot, 'served'> {
  const own = process.cpuUsage();
  return {
    at: performance.now(),
    cpu: {
      measured: cpuSeconds(pids.measured, clkTck),
      hub: cpuSeconds(pids.hub, clkTck),
      farm: cpuSeconds(pids.farm, clkTck),
      bench: (own.user + own.system) / 1e6,
    },
    busy: cpuBusySeconds(clkTck),
  };
}

/** Opens a window: CPU and counters before, RSS sampled throughout, the same after. */
async function measureWindow<T>(
  pids: Pids,
  farm: Farm,
  clkTck: number,
  measureMs: number,
  counters: () => Promise<T>,
): Promise<{ window: Window; before: T; after: T }> {
  const c = edgeConfig;
  const before = { ...snapshot(pids, clkTck), served: await farm.served() };
  const beforeCounters = await counters();
  const first = residentBytes(pids.measured);
  const rss: number[] = [first.rss];
  const sampler = setInterval(() => rss.push(residentBytes(pids.measured).rss), c.rssEveryMs);
  await sleep(measureMs);
  clearInterval(sampler);
  const after = { ...snapshot(pids, clkTck), served: await farm.served() };
  const afterCounters = await counters();
  const last = residentBytes(pids.measured);
  const seconds = (after.at - before.at) / 1000;
  const share = (k: keyof Snapshot['cpu']) => (after.cpu[k] - before.cpu[k]) / seconds;
  const busy = (cpu: number) => ((after.busy[cpu] ?? NaN) - (before.busy[cpu] ?? NaN)) / seconds;
  const window: Window = {
    seconds,
    cpu: share('measured'),
    rss: { start: first.rss, end: last.rss, max: Math.max(last.rss, ...rss), anonEnd: last.anon },
    polls: after.served - before.served,
    neighbours: { hub: share('hub'), farm: share('farm'), bench: share('bench') },
    // Everything else on each CPU, hypervisor steal included (as in the MQTT group).
    others: canPin()
      ? { [EDGE_CPU]: busy(EDGE_CPU) - share('measured'), [REST_CPU]: busy(REST_CPU) - share('hub') - share('farm') - share('bench') }
      : undefined,
  };
  return { window, before: beforeCounters, after: afterCounters };
}

async function writeEdgeConfig(
  dir: string,
  urls: { baseUrl: string; mqttUrl: string },
  tenant: AdminCredentials,
  gateway: { productKey: string; deviceKey: string; secret: string },
  subProductKey: string,
  ports: number[],
  intervalMs: number,
): Promise<string> {
  // As test/src/edge-fixture.ts writes it: the burned-in identity, secrets in 0600 files.
  await writeFile(join(dir, 'service-account.secret'), tenant.accessSecret, { mode: 0o600 });
  await writeFile(join(dir, 'gateway.secret'), gateway.secret, { mode: 0o600 });
  const config = {
    hub: { url: urls.baseUrl, mqttUrl: urls.mqttUrl },
    identity: {
      orgId: tenant.orgId,
      serviceAccount: { accessKey: tenant.accessKey, accessSecretFile: 'service-account.secret' },
      gateway: { productKey: gateway.productKey, deviceKey: gateway.deviceKey, deviceSecretFile: 'gateway.secret' },
      subDeviceProductKey: subProductKey,
    },
    registration: 'dynamic',
    southbound: {
      models: { [MODEL]: benchRegisterMap() },
      devices: ports.map((port, i) => ({
        deviceKey: subKey(i),
        name: subKey(i),
        model: MODEL,
        transport: { kind: 'tcp', host: '127.0.0.1', port },
        unitId: 1,
        pollIntervalMs: intervalMs,
        timeoutMs: edgeConfig.modbusTimeoutMs,
      })),
    },
    buffer: { dir: 'buffer' },
    configCenter: { host: '127.0.0.1', port: 0 },
    uplink: { reconnectMinMs: 100, reconnectMaxMs: 1000, replyTimeoutMs: 5000 },
  };
  const file = join(dir, 'edge.json');
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/** Polls `check` every 100 ms until it holds; false after `timeoutMs`. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

interface RunContext {
  hub: { baseUrl: string; mqttUrl: string; pid: number };
  tenant: AdminCredentials;
  gateway: { productKey: string; deviceKey: string; secret: string };
  subProductKey: string;
  farm: Farm;
  watch: StreamWatch;
  clkTck: number;
}

/**
 * `BENCH_EDGE_INTERVALS=1000` keeps only the runs at those poll intervals (comma-separated), to
 * redo one row while working on it; the section written then has only those rows.
 */
function selectedRuns(runs: RunSpec[]): RunSpec[] {
  const only = process.env['BENCH_EDGE_INTERVALS'];
  if (!only) return runs;
  const wanted = new Set(only.split(',').map(Number));
  return runs.filter((r) => wanted.has(r.intervalMs));
}

/** The soak's length in seconds: `BENCH_EDGE_SOAK_S`, else the config's unless only some intervals were asked for. */
function soakLength(): number {
  const set = process.env['BENCH_EDGE_SOAK_S'];
  if (set !== undefined && set !== '') return Number(set);
  return process.env['BENCH_EDGE_INTERVALS'] ? 0 : edgeConfig.soak.seconds;
}

const windowMs = (intervalMs: number) => edgeConfig.measureMs[intervalMs] ?? 6_000;

async function edgeRun(ctx: RunContext, intervalMs: number, kind: UplinkKind, start: EdgeStart): Promise<EdgeRun> {
  const c = edgeConfig;
  const name = `edge ${intervalMs} ms → ${kind} (${start} start)`;
  const dir = await mkdtemp(join(tmpdir(), 'edgehub-bench-edge-'));
  let edge: BenchEdge | undefined;
  const target = kind === 'hub' ? hubTarget(ctx.hub, ctx.watch) : await responderTarget();
  try {
    // Registration always goes through the hub's REST; only the MQTT uplink differs.
    const file = await writeEdgeConfig(
      dir,
      { baseUrl: ctx.hub.baseUrl, mqttUrl: target.mqttUrl },
      ctx.tenant,
      ctx.gateway,
      ctx.subProductKey,
      ctx.farm.ports,
      intervalMs,
    );
    if (start === 'live') await ctx.farm.hold();
    else await ctx.farm.release();
    const spawnedAt = Date.now();
    edge = await startEdge(file, ctx.gateway.secret);
    const e = edge;
    let status = await e.status();
    const loggedIn = await until(async () => {
      status = await e.status();
      return status.uplink.connected && status.subDevices.length === c.devices && status.subDevices.every((s) => s.loggedIn);
    }, c.readyTimeoutMs);
    if (!loggedIn)
      throw new Error(
        `${name}: ${status.subDevices.filter((s) => s.loggedIn).length}/${status.subDevices.length} sub-devices logged in after ${c.readyTimeoutMs} ms\n${e.output().slice(-2000)}`,
      );
    const loggedInAfterMs = Date.now() - spawnedAt;
    let releasedAfterMs: number | undefined;
    if (start === 'live') {
      // Logged in with an empty buffer: the edge's replay finds nothing and it goes live at once
      // (edge/src/proxy/telemetry-path.ts, pump()); give that a moment, then let the field answer.
      if (status.buffer.readings !== 0) throw new Error(`${name}: ${status.buffer.readings} readings buffered while the field was held`);
      await sleep(300);
      await ctx.farm.release();
      releasedAfterMs = Date.now() - spawnedAt;
    }
    let seen = 0;
    const delivering = await until(async () => (seen = await target.seen()) === c.devices, c.deliveringTimeoutMs);
    const deliveringAfterMs = delivering ? Date.now() - spawnedAt : undefined;
    log(
      `${name}: started (registration done) after ${e.startedAfterMs} ms, all ${c.devices} logged in after ${loggedInAfterMs} ms, ` +
        `${releasedAfterMs !== undefined ? `field released after ${releasedAfterMs} ms, ` : ''}` +
        `${delivering ? `all delivering after ${deliveringAfterMs} ms` : `only ${seen} of ${c.devices} delivering after another ${c.deliveringTimeoutMs} ms: measuring anyway`}`,
    );
    await sleep(c.warmupMs);
    const statusBefore = await e.status();
    const problemsBefore = e.problems();
    target.open();
    const { window, before, after } = await measureWindow(
      { hub: target.pid, farm: ctx.farm.pid, measured: e.pid },
      ctx.farm,
      ctx.clkTck,
      windowMs(intervalMs),
      () => target.counters(),
    );
    const got = await target.close();
    const statusAfter = await e.status();
    const problems = Object.entries(e.problems()).flatMap(([key, v]) => {
      const n = v.count - (problemsBefore[key]?.count ?? 0);
      return n > 0 ? [{ key, count: n, example: v.example }] : [];
    });
    const delays = got.samples.map((s) => s.arrival - s.time);
    const half = delays.length >> 1;
    const resumed = got.samples.filter((s) => s.resumed).length;
    const run: EdgeRun = {
      peer: 'edge',
      intervalMs,
      window,
      startup: { startedAfterMs: e.startedAfterMs, loggedInAfterMs, releasedAfterMs, deliveringAfterMs },
      uplink: {
        target: kind,
        start,
        postBatch: after.postBatch - before.postBatch,
        resumeBatch: after.resumeBatch - before.resumeBatch,
        messages: after.messages - before.messages,
        notOk: after.notOk - before.notOk,
        live: got.samples.length - resumed,
        resumed,
        points: got.points,
        acked: statusAfter.telemetry.sent + statusAfter.telemetry.replayed - statusBefore.telemetry.sent - statusBefore.telemetry.replayed,
        buffered: statusAfter.telemetry.buffered - statusBefore.telemetry.buffered,
        refusedByHub: statusAfter.telemetry.refusedByHub - statusBefore.telemetry.refusedByHub,
        backlog: { before: statusBefore.buffer.readings, after: statusAfter.buffer.readings, bytesAfter: statusAfter.buffer.bytes },
        connected: statusAfter.uplink.connected,
        delay: delays.length > 0 ? summarize(delays) : undefined,
        delayHalves: half > 0 ? [summarize(delays.slice(0, half)).p50, summarize(delays.slice(half)).p50] : undefined,
        checked: got.checked,
        wrong: got.wrong,
        problems,
      },
    };
    const u = run.uplink!;
    log(
      `${name}: ${(window.polls / window.seconds).toFixed(0)} polls/s, CPU ${(window.cpu * 100).toFixed(1)}%, RSS ${(window.rss.end / 2 ** 20).toFixed(1)} MiB; ` +
        `${(u.postBatch / window.seconds).toFixed(1)} post/batch + ${(u.resumeBatch / window.seconds).toFixed(1)} resume/batch msg/s, ${(u.live / window.seconds).toFixed(0)} live + ${(u.resumed / window.seconds).toFixed(0)} resumed readings/s delivered, ` +
        `delay p50/p99 ${u.delay?.p50 ?? '—'}/${u.delay?.p99 ?? '—'} ms, edge buffer ${u.backlog.before} → ${u.backlog.after} readings; ${kind} CPU ${(window.neighbours.hub * 100).toFixed(0)}%`,
    );
    if (u.wrong > 0) log(`WARNING: ${u.wrong} of ${u.checked} checked readings carried values the farm did not serve`);
    return run;
  } finally {
    await edge?.stop();
    await target.stop();
    await ctx.farm.release();
    await rm(dir, { recursive: true, force: true });
  }
}

async function bareRun(ctx: RunContext, intervalMs: number): Promise<EdgeRun> {
  const c = edgeConfig;
  await ctx.farm.release();
  const bare = await startBarePoller(ctx.farm.ports, intervalMs, c.modbusTimeoutMs);
  try {
    await sleep(c.warmupMs);
    const { window, before, after } = await measureWindow(
      { hub: ctx.hub.pid, farm: ctx.farm.pid, measured: bare.pid },
      ctx.farm,
      ctx.clkTck,
      windowMs(intervalMs),
      () => bare.counts(),
    );
    const run: EdgeRun = {
      peer: 'bare',
      intervalMs,
      window,
      bare: { readings: after.readings - before.readings, errors: after.errors - before.errors },
    };
    log(
      `bare poller ${intervalMs} ms: ${(window.polls / window.seconds).toFixed(0)} polls/s, CPU ${(window.cpu * 100).toFixed(1)}%, RSS ${(window.rss.end / 2 ** 20).toFixed(1)} MiB`,
    );
    return run;
  } finally {
    await bare.stop();
  }
}

/** The commit measured, and whether the edge, hub or shared sources differed from it. */
function sourceRevision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'edge', 'hub', 'shared').length > 0;
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes in edge/, hub/ or shared/' : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

/** Runs the edge benchmark and rewrites its section of docs/BENCHMARKS.md. */
export async function runEdgeBenchmarks(progress: () => void = () => undefined): Promise<void> {
  const c = edgeConfig;
  const startedAt = new Date();
  const loadAtStart = loadavg()[0] ?? NaN;
  const revision = sourceRevision();
  const clkTck = clockTicks();
  // Before pinning: `nproc` counts only the CPUs this process may run on.
  const machine = describeMachine();
  // This process (the stream application) shares CPU 0 with the hub and the farm for the group's
  // duration; its children inherit that unless pinned elsewhere. Restored at the end.
  const ownMask = affinityOf(process.pid);
  if (ownMask) setAffinity(process.pid, (1 << REST_CPU).toString(16));
  const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-bench-edge-hub-'));
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const hub = await spawnHub({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    track(hub.child, 'hub');
    stops.push(() => stopChild(hub.child, 20_000));
    const hubPid = hub.child.pid!;
    pinProcess(hubPid, REST_CPU);
    if (!hub.mqttUrl) throw new Error(`no MQTT URL in the hub's output:\n${hub.output()}`);
    const tenant = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
    const admin = new ApiClient({ baseUrl: hub.baseUrl, accessKey: tenant.accessKey, accessSecret: tenant.accessSecret });
    // The edge's burned-in identity: its gateway triple and the sub-devices' product; the
    // sub-devices themselves are created by the edge (dynamic registration).
    const gw = await provision(admin, tenant.orgId, { productType: 'Gateway', deviceKeys: [GATEWAY_KEY] });
    const sub = await provision(admin, tenant.orgId, { productType: 'Device', deviceKeys: [], product: benchThingModel() });
    const gateway = { productKey: gw.productKey, deviceKey: GATEWAY_KEY, secret: gw.devices[0]!.secret };

    log(`starting ${c.devices} simulated Modbus TCP devices (${c.points} points each) in their own process`);
    const farm = await startFarm(c.devices);
    stops.push(() => farm.stop());
    const app = await connectApp(hub.mqttUrl, tenant.accessKey, tenant.accessSecret, 'edge-bench');
    stops.push(() => app.endAsync(true));
    const watch = new StreamWatch(app, sub.productKey);
    await app.subscribeAsync(`org/${tenant.orgId}/#`, { qos: 0 });

    const ctx: RunContext = {
      hub: { baseUrl: hub.baseUrl, mqttUrl: hub.mqttUrl, pid: hubPid },
      tenant,
      gateway,
      subProductKey: sub.productKey,
      farm,
      watch,
      clkTck,
    };
    const runs: EdgeRun[] = [];
    for (const spec of selectedRuns(c.runs))
      runs.push(spec.peer === 'edge' ? await edgeRun(ctx, spec.intervalMs, spec.uplink, spec.start) : await bareRun(ctx, spec.intervalMs));
    const soakSeconds = soakLength();
    let soak: SoakResult | undefined;
    if (soakSeconds > 0) {
      log(`soak: the edge and the bare loop side by side for ${soakSeconds} s, every ${c.soak.intervalMs} ms`);
      progress();
      soak = await soakRun(
        {
          progress,
          farm,
          clkTck,
          devices: c.devices,
          modbusTimeoutMs: c.modbusTimeoutMs,
          writeConfig: (dir, intervalMs) =>
            writeEdgeConfig(dir, { baseUrl: hub.baseUrl, mqttUrl: hub.mqttUrl! }, tenant, gateway, sub.productKey, farm.ports, intervalMs),
          gatewaySecret: gateway.secret,
          log,
        },
        c.soak.intervalMs,
        soakSeconds,
        c.soak.sampleEveryS,
      );
    }
    // What the edge's dynamic registration left in the hub: the product's devices, all of them.
    const created = await admin.ok<unknown[]>(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'search', orgId: tenant.orgId },
      { expression: `productKey = '${sub.productKey}'`, pagination: { pageNo: 1, pageSize: 1 } },
    );

    const results: EdgeBenchResults = {
      edgeNodeFlags: edgeNodeFlags(),
      date: startedAt,
      durationS: (Date.now() - startedAt.getTime()) / 1000,
      machine,
      loadAverage: { start: loadAtStart, end: loadavg()[0] ?? NaN },
      pinned: canPin(),
      revision,
      config: c,
      subDevicesInHub: created.pagination?.totalSize ?? NaN,
      runs,
      soak,
    };
    const section = renderEdgeSection(results);
    console.log(section);
    log(`wrote ${await writeEdgeSection(section)}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`cleanup: ${String(err)}`));
    await rm(dataDir, { recursive: true, force: true });
    if (ownMask) setAffinity(process.pid, ownMask);
  }
}

// `node --import tsx test/bench/edge-bench.ts` runs this group alone (main.ts imports it instead).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runEdgeBenchmarks();
  process.exit(0);
}
