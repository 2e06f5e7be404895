/**
 * The MQTT group of `npm run bench`: the hub's broker against bare aedes and Mosquitto, every peer
 * measured in the same run by the same load generator (test/bench/mqtt-loadgen.ts):
 *
 *  1. fan-in of `thing.measurepoint.post` from 200 signed-in devices, QoS 0 and QoS 1;
 *  2. a connect storm of 10,000 devices, held open, with the broker's resident memory around it.
 *
 * Brokers run pinned to CPU 0 and the generator to CPU 1 (docs/PERFORMANCE-NOTES.md §3). Writes the
 * `bench:mqtt` section of docs/BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { topics } from '@edgehub/shared';
import { connectPassword, provision, repoRoot, type ProvisionedDevice } from '../src/index.js';
import { describeMachine } from './machine.js';
import type { ConnectSpec } from './mqtt-frames.js';
import { MEASUREPOINT_BODY } from './mqtt-frames.js';
import type { FanInJob, FanInResult, StormJob, StormResult } from './mqtt-loadgen.js';
import { canPin, clockTicks } from './mqtt-proc.js';
import {
  BROKER_CPU,
  GENERATOR_CPU,
  startAedesPeer,
  startFloorPeer,
  startHubPeer,
  startMosquittoPeer,
  runLoadgen,
  type HubPeer,
  type Peer,
  type PeerName,
  type StormPeerName,
} from './mqtt-peers.js';
import { repliesSent, startRemoteProfile, summarizeProfile, type ProfileSummary } from './mqtt-profile.js';
import { formatSummary, summarizeProfile as summarizeWindow, type CpuProfile } from './profile.js';
import { renderMqttSection, writeMqttSection, type FanInRun, type MqttBenchResults, type StormRun } from './mqtt-report.js';

export const mqttConfig = {
  publishers: 200,
  /**
   * Publishes in flight per publisher, 2,000 in all as in docs/PERFORMANCE-NOTES.md §3: QoS 1 counts up to the
   * PUBACK, QoS 0 up to the delivery (the hub's reply, the bare brokers' copy at the subscriber).
   */
  window: 10,
  warmupMs: 2_000,
  measureMs: 5_000,
  /** Each round runs every broker once per QoS; the order flips from one round to the next (an odd count gives a real median). */
  rounds: Number(process.env.BENCH_MQTT_ROUNDS ?? 3),
  /** `BENCH_STORM_DEVICES` shrinks it while developing (the figures in docs/BENCHMARKS.md use 10,000). */
  stormDevices: Number(process.env['BENCH_STORM_DEVICES'] ?? 10_000),
  stormConcurrency: 200,
  /** From the last CONNACK to the RSS reading and the DISCONNECTs (`BENCH_STORM_SETTLE_MS`: longer, to take a heap snapshot by hand). */
  settleMs: Number(process.env['BENCH_STORM_SETTLE_MS'] ?? 2_000),
  /** Devices per batchCreate call, the API's maximum. */
  provisionChunk: 1_000,
};
export type MqttConfig = typeof mqttConfig;

const PEERS: PeerName[] = ['hub', 'aedes', 'mosquitto'];
/** BENCH_PROFILE=<dir>: after the measured rounds, one profiled hub run per QoS (test/bench/mqtt-profile.ts). */
const PROFILE_DIR = process.env.BENCH_PROFILE;
/** BENCH_MQTT_ONLY=fanin: the fan-in alone, printed but not written to docs/BENCHMARKS.md (for development). */
const ONLY_FANIN = process.env.BENCH_MQTT_ONLY === 'fanin';
/** What a counted delivery must contain: the hub's success reply, or the bare brokers' copy of the request. */
const EXPECT: Record<PeerName, string> = {
  hub: '"code":200,',
  aedes: '"method":"thing.measurepoint.post"',
  mosquitto: '"method":"thing.measurepoint.post"',
};
const THING_MODEL = { thingModel: { measurepoints: { temp: { dataType: 'DOUBLE' } } } };

const log = (msg: string) => console.error(`[bench:mqtt] ${msg}`);

/** Creates `count` devices through the hub's REST API, `provisionChunk` per batchCreate (one product per call). */
async function provisionDevices(hub: HubPeer, prefix: string, count: number): Promise<ProvisionedDevice[]> {
  const devices: ProvisionedDevice[] = [];
  for (let from = 0; from < count; from += mqttConfig.provisionChunk) {
    const keys = Array.from(
      { length: Math.min(mqttConfig.provisionChunk, count - from) },
      (_, i) => `${prefix}-${String(from + i).padStart(5, '0')}`,
    );
    const product = await provision(hub.admin, hub.orgId, { productType: 'Device', deviceKeys: keys, product: THING_MODEL });
    devices.push(...product.devices);
  }
  return devices;
}

/** A signed EnOS CONNECT (docs/ENOS-PROTOCOL.md §2.2), as `connectDevice` builds it, for securemode 2 and sha256. */
function signedConnect(d: ProvisionedDevice, timestamp: string): ConnectSpec {
  return {
    clientId: `${d.deviceKey}|securemode=2,signmethod=sha256,timestamp=${timestamp}|`,
    username: `${d.deviceKey}&${d.productKey}`,
    password: connectPassword(d.deviceKey, d, timestamp, 'sha256'),
  };
}

const pinning = () => (canPin() ? { cpus: { broker: BROKER_CPU, generator: GENERATOR_CPU } } : {});

const startPeer = (name: PeerName, hubOpts: { throttle: boolean }): Promise<Peer> =>
  name === 'hub' ? startHubPeer(hubOpts) : name === 'aedes' ? startAedesPeer() : startMosquittoPeer();

function fanInJob(peer: Peer, name: PeerName, qos: 0 | 1, publishers: FanInJob['publishers'], clkTck: number): FanInJob {
  const c = mqttConfig;
  return {
    kind: 'fanin',
    port: peer.port,
    brokerPid: peer.pid,
    clkTck,
    ...pinning(),
    deadlineMs: c.warmupMs + c.measureMs + 30_000,
    qos,
    publishers,
    body: MEASUREPOINT_BODY,
    ...(name === 'hub' ? {} : { subscribe: '#' }),
    expect: EXPECT[name],
    window: c.window,
    warmupMs: c.warmupMs,
    measureMs: c.measureMs,
  };
}

/**
 * One more hub run, not counted in the tables, with the hub's CPU sampled over the middle of the
 * generator's window (test/bench/mqtt-profile.ts): prints self time per answered post.
 */
async function profiledRun(hub: HubPeer, job: FanInJob, dir: string): Promise<ProfileSummary> {
  if (!hub.inspectorUrl) throw new Error('the hub was started without its inspector');
  const generator = runLoadgen<FanInResult>(job);
  // Replies flow once the generator has connected its publishers; sample well inside its window.
  const first = await repliesSent(hub.baseUrl);
  while ((await repliesSent(hub.baseUrl)) === first) await sleep(50);
  await sleep(job.warmupMs / 2);
  const before = await repliesSent(hub.baseUrl);
  const profile = await startRemoteProfile(hub.inspectorUrl);
  await sleep(job.measureMs - 1_000);
  const sampled = await profile.stop();
  const answered = (await repliesSent(hub.baseUrl)) - before;
  await generator;
  const summary = await summarizeProfile(sampled, answered, dir, `mqtt-fanin-hub-qos${job.qos}`);
  console.error(summary.text);
  await sleep(500);
  return summary;
}

async function fanIn(clkTck: number): Promise<{ runs: FanInRun[]; versions: Record<PeerName, string> }> {
  const c = mqttConfig;
  // Throttle off: the same 200 devices reconnect for every run (it acts only at CONNECT).
  const hub = await startHubPeer({ throttle: false, inspect: PROFILE_DIR !== undefined });
  const peers: Partial<Record<PeerName, Peer>> = { hub };
  try {
    peers.aedes = await startAedesPeer();
    peers.mosquitto = await startMosquittoPeer();
    const devices = await provisionDevices(hub, 'pub', c.publishers);
    const ts = String(Date.now());
    // The same CONNECT, topic and body bytes for all three; the bare brokers do not check the signature.
    const publishers = devices.map((d) => ({ ...signedConnect(d, ts), topic: topics.measurepointPost(d.productKey, d.deviceKey) }));
    const runs: FanInRun[] = [];
    for (let round = 0; round < c.rounds; round++) {
      const order = round % 2 === 0 ? PEERS : [...PEERS].reverse();
      for (const qos of [0, 1] as const) {
        for (const name of order) {
          const peer = peers[name]!;
          const job = fanInJob(peer, name, qos, publishers, clkTck);
          const result = await runLoadgen<FanInResult>(job);
          if (result.wrong > 0) throw new Error(`${name} QoS ${qos}: ${result.wrong} deliveries without ${EXPECT[name]}`);
          if (result.delivered === 0) throw new Error(`${name} QoS ${qos}: nothing delivered`);
          runs.push({ peer: name, qos, round, result });
          log(
            `round ${round + 1}/${c.rounds} QoS ${qos} ${name}: ${Math.round(result.delivered / result.seconds)} delivered/s, broker CPU ${(result.brokerCpu * 100).toFixed(0)}%, generator CPU ${(result.generatorCpu * 100).toFixed(0)}%${result.others ? `, others on CPU 0/1 ${(result.others.brokerCpu * 100).toFixed(0)}%/${(result.others.generatorCpu * 100).toFixed(0)}%` : ''}`,
          );
          // Let the broker close the previous run's connections before the next run starts.
          await sleep(500);
        }
      }
    }
    if (PROFILE_DIR) for (const qos of [0, 1] as const) await profiledRun(hub, fanInJob(hub, 'hub', qos, publishers, clkTck), PROFILE_DIR);
    return { runs, versions: { hub: hub.version, aedes: peers.aedes.version, mosquitto: peers.mosquitto.version } };
  } finally {
    for (const p of Object.values(peers)) await p.stop();
  }
}

/** Runs the connect storm against every broker (also alone: test/bench/connect-storm.ts). */
export async function connectStorms(clkTck: number): Promise<StormRun[]> {
  const c = mqttConfig;
  const runs: StormRun[] = [];
  const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-bench-storm-'));
  try {
    // Provisioned before any broker is measured: one list of CONNECTs, the hub's devices, for every broker.
    log(`provisioning ${c.stormDevices} devices in the hub (REST batchCreate)`);
    const provisioner = await startHubPeer({ throttle: true, dataDir });
    let devices: ProvisionedDevice[];
    let specs: ConnectSpec[];
    try {
      const ts = String(Date.now());
      devices = await provisionDevices(provisioner, 'storm', c.stormDevices);
      specs = devices.map((d) => signedConnect(d, ts));
    } finally {
      await provisioner.stop();
    }
    // A fresh hub over that store, so its "before" is an idle process like the bare brokers', not
    // one still holding the garbage of 10 batchCreate calls.
    // BENCH_PROFILE=<dir>: the hub's storm is sampled through its inspector (which slows it: take the
    // figures of docs/BENCHMARKS.md from a run without it); the summary splits CONNECT and DISCONNECT.
    // Bare aedes is profiled the same way, so the two profiles can be set side by side by file and function.
    // The floor (test/bench/mqtt-floor-server.ts): bare aedes plus only what the hub may not drop.
    const STORM_PEERS: StormPeerName[] = ['hub', 'aedes', 'floor', 'mosquitto'];
    const floorDir = join(dataDir, 'floor');
    for (const name of STORM_PEERS) {
      const profiled = PROFILE_DIR !== undefined && name !== 'mosquitto';
      const hub = name === 'hub' ? await startHubPeer({ throttle: true, dataDir, inspect: profiled }) : undefined;
      const aedes = name === 'aedes' ? await startAedesPeer({ inspect: profiled }) : undefined;
      const floor = name === 'floor' ? await startFloorPeer(devices, floorDir, { inspect: profiled }) : undefined;
      const peer = hub ?? aedes ?? floor ?? (await startPeer('mosquitto', { throttle: true }));
      try {
        await sleep(1000);
        const inspector = hub?.inspectorUrl ?? aedes?.inspectorUrl ?? floor?.inspectorUrl;
        const profiler = profiled && inspector ? await startRemoteProfile(inspector) : undefined;
        // The store the status writes go to (the hub's registry, hub/src/store/open.ts; the floor's
        // own): its commits per phase go into the result, and a phase ends only once they stop.
        const storePath = hub ? join(dataDir, 'registry') : floor ? floorDir : undefined;
        const run = await storm(peer, specs, clkTck, storePath);
        runs.push(run);
        // The same devices again, to the same (now warm) broker: what a fleet does after a network
        // outage. The hub has their records cached and every device is activated already.
        if (name !== 'mosquitto') run.reconnect = (await storm(peer, specs, clkTck, storePath)).result;
        if (profiler && PROFILE_DIR) await printStormProfile((await profiler.stop()) as CpuProfile, run, PROFILE_DIR);
      } finally {
        await peer.stop();
      }
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  return runs;
}

async function storm(peer: Peer, devices: ConnectSpec[], clkTck: number, storePath?: string): Promise<StormRun> {
  const c = mqttConfig;
  const job: StormJob = {
    kind: 'storm',
    port: peer.port,
    brokerPid: peer.pid,
    clkTck,
    ...pinning(),
    deadlineMs: 120_000,
    devices,
    concurrency: c.stormConcurrency,
    settleMs: c.settleMs,
    ...(storePath === undefined ? {} : { storePath }),
  };
  const result = await runLoadgen<StormResult>(job);
  if (result.accepted !== devices.length)
    throw new Error(
      `${peer.name}: ${result.accepted} of ${devices.length} connections accepted (${result.refused} refused, ${result.failed} failed)`,
    );
  log(
    `storm ${peer.name}: ${Math.round(result.connectsPerSec)} connects/s, ${Math.round((result.brokerCpuSeconds / result.accepted) * 1e6)} µs broker CPU per connect, RSS ${(result.rssBefore / 2 ** 20).toFixed(1)} → ${(result.rssAfter / 2 ** 20).toFixed(1)} MiB, ${result.listenOverflows} listen-queue overflows${result.commits ? `, ${result.commits.connect} + ${result.commits.disconnect} store commits` : ''}`,
  );
  return { peer: peer.name, version: peer.version, result };
}

/** A peer's self time per CONNECT and per DISCONNECT, from the samples inside each phase's window. */
async function printStormProfile(profile: CpuProfile, run: StormRun, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `mqtt-storm-${run.peer}.cpuprofile`);
  await writeFile(file, JSON.stringify(profile));
  const n = { count: run.result.accepted, name: 'connect' };
  console.log(formatSummary(`${run.peer} profile, CONNECT phase (${file})`, summarizeWindow(profile, run.result.connectWindowUs), n));
  console.log(formatSummary(`${run.peer} profile, DISCONNECT phase`, summarizeWindow(profile, run.result.disconnectWindowUs), n));
}

/** The commit the hub was measured at, and whether the working tree differed from it. */
function sourceRevision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'hub', 'shared').length > 0;
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes in hub/ or shared/' : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

/** Runs both MQTT benchmarks and rewrites their section of docs/BENCHMARKS.md. */
export async function runMqttBenchmarks(): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = loadavg()[0] ?? NaN;
  const revision = sourceRevision();
  const clkTck = clockTicks();
  log(
    `fan-in: ${mqttConfig.publishers} publishers, QoS 0 and 1, ${mqttConfig.rounds} rounds × 3 brokers × ${(mqttConfig.warmupMs + mqttConfig.measureMs) / 1000} s`,
  );
  const fan = await fanIn(clkTck);
  if (ONLY_FANIN) {
    console.log(
      JSON.stringify(
        fan.runs.map((r) => ({ peer: r.peer, qos: r.qos, perCoreSecond: r.result.delivered / r.result.seconds / r.result.brokerCpu })),
      ),
    );
    return;
  }
  log(`connect storm: ${mqttConfig.stormDevices} connections, ${mqttConfig.stormConcurrency} in flight, against each broker`);
  const storms = await connectStorms(clkTck);
  const results: MqttBenchResults = {
    date: startedAt,
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    machine: describeMachine(),
    loadAverage: { start: loadAtStart, end: loadavg()[0] ?? NaN },
    pinned: canPin(),
    revision,
    versions: fan.versions,
    config: mqttConfig,
    bodyBytes: Buffer.byteLength(MEASUREPOINT_BODY),
    fanIn: fan.runs,
    storms,
  };
  const section = renderMqttSection(results);
  console.log(section);
  log(`wrote ${await writeMqttSection(section)}`);
}
