/**
 * The `lb` group of `npm run bench`: the deployment of docs/DEPLOYMENT.md (`npm run cluster`:
 * HAProxy, hub workers, a manager, redis-server, the certificate service, as real processes) under
 * the fan-in load of the MQTT group, through HAProxy, with one worker and with two. The figure is
 * posts per worker core-second, two workers ÷ one: what clustering costs per core (the issue's
 * target is ≥ 0.95×). HAProxy's and Redis' CPU are shown beside. Nothing is pinned: on a 2-core
 * machine the workers, HAProxy, Redis and the generator share both cores, so this is the cost per
 * core, not a scale-out figure (that needs a core per node). Writes the `bench:lb` section of
 * docs/BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { topics } from '@edgehub/shared';
import { ApiClient } from '@edgehub/hub';
import { startLocalCluster, type LocalCluster } from '@edgehub/hub/deploy';
import { connectPassword, provision, type AdminCredentials, type ProvisionedDevice } from '../src/index.js';
import { snapshotCpu, usageBetween, type CpuUsage } from './cluster-cpu.js';
import { establishedOn, runChildJob } from './cluster-procs.js';
import { sourceRevision } from './cluster-report.js';
import { describeMachine } from './machine.js';
import { MEASUREPOINT_BODY, type ConnectSpec } from './mqtt-frames.js';
import type { FanInJob, FanInResult } from './mqtt-loadgen.js';
import { clockTicks } from './mqtt-proc.js';
import { DOC_PATH } from './report.js';

export const lbConfig = { publishers: 200, window: 10, warmupMs: 1_500, measureMs: 3_000, rounds: 2, workers: [1, 2] };
const THING_MODEL = { thingModel: { measurepoints: { temp: { dataType: 'DOUBLE' }, seq: { dataType: 'INT' } } } };
const START = '<!-- bench:lb:start -->';
const END = '<!-- bench:lb:end -->';
const log = (msg: string) => console.error(`[bench:lb] ${msg}`);

interface LbRun {
  workers: number;
  round: number;
  postsPerSecond: number;
  workerCores: number;
  perWorkerCore: number;
  haproxyCores: number;
  redisCores: number;
  generatorCores: number;
  others: number;
}

function signedConnect(d: ProvisionedDevice, timestamp: string): ConnectSpec {
  return {
    clientId: `${d.deviceKey}|securemode=2,signmethod=sha256,timestamp=${timestamp}|`,
    username: `${d.deviceKey}&${d.productKey}`,
    password: connectPassword(d.deviceKey, d, timestamp, 'sha256'),
  };
}

/** HAProxy runs master-worker (-W): the process doing the work is the master's child. */
function haproxyWorkerPid(masterPid: number): number {
  const out = spawnSync('pgrep', ['-P', String(masterPid)], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')[0];
  return Number(out) || masterPid;
}

async function successReplies(c: LocalCluster): Promise<number> {
  let sum = 0;
  for (const w of c.workers) {
    const text = await (await fetch(`http://${w.endpoint.host}:${w.endpoint.httpPort}/metrics`)).text();
    sum += Number(/^edgehub_mqtt_replies_total\{code="200"\} (\d+)/m.exec(text)?.[1] ?? 0);
  }
  return sum;
}

async function oneRun(workers: number, round: number, clkTck: number): Promise<LbRun> {
  const c = lbConfig;
  const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-bench-lb-'));
  const cluster = await startLocalCluster({
    dataDir,
    workers,
    ports: { mqtt: 0, mqtts: 0, ws: 0, http: 0 },
    hubEnv: { HUB_MQTT_CONNECT_THROTTLE: 'false' },
  });
  try {
    const creds = JSON.parse(await readFile(cluster.credentialsPath, 'utf8')) as AdminCredentials;
    const admin = new ApiClient({ baseUrl: cluster.urls.http, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
    const fleet = await provision(admin, creds.orgId, {
      productType: 'Device',
      deviceKeys: Array.from({ length: c.publishers }, (_, i) => `lb-${i}`),
      product: THING_MODEL,
    });
    const ts = String(Date.now());
    const port = Number(new URL(cluster.urls.mqtt).port);
    const pids: Record<string, number> = {
      haproxy: haproxyWorkerPid(cluster.haproxy.child.pid!),
      redis: cluster.redis.child.pid!,
      manager: cluster.manager.process.child.pid!,
    };
    for (const w of cluster.workers) pids[w.name] = w.process.child.pid!;
    const job: FanInJob = {
      kind: 'fanin',
      port,
      brokerPid: pids['worker-1']!,
      clkTck,
      deadlineMs: c.warmupMs + c.measureMs + 30_000,
      qos: 1,
      publishers: fleet.devices.map((d) => ({ ...signedConnect(d, ts), topic: topics.measurepointPost(d.productKey, d.deviceKey) })),
      body: MEASUREPOINT_BODY,
      expect: '"code":200,',
      window: c.window,
      warmupMs: c.warmupMs,
      measureMs: c.measureMs + 1_000,
    };
    const generator = runChildJob<FanInResult>('mqtt-loadgen.ts', job, {
      killAfterMs: job.deadlineMs + 15_000,
      onSpawn: (pid) => (pids['generator'] = pid),
    });
    const deadline = Date.now() + 30_000;
    while (establishedOn(port) < c.publishers) {
      if (Date.now() > deadline) throw new Error(`only ${establishedOn(port)} of ${c.publishers} publishers connected through HAProxy`);
      await sleep(20);
    }
    await sleep(c.warmupMs);
    const replies0 = await successReplies(cluster);
    const cpu0 = snapshotCpu(pids, clkTck);
    await sleep(c.measureMs);
    const cpu: CpuUsage = usageBetween(cpu0, snapshotCpu(pids, clkTck));
    const replies = (await successReplies(cluster)) - replies0;
    const result = await generator;
    if (result.wrong > 0) throw new Error(`${result.wrong} replies without "code":200`);
    const workerCores = cluster.workers.reduce((s, w) => s + (cpu.procs[w.name]?.cores ?? 0), 0);
    const run: LbRun = {
      workers,
      round,
      postsPerSecond: replies / cpu.seconds,
      workerCores,
      perWorkerCore: replies / cpu.seconds / workerCores,
      haproxyCores: cpu.procs['haproxy']?.cores ?? 0,
      redisCores: cpu.procs['redis']?.cores ?? 0,
      generatorCores: cpu.procs['generator']?.cores ?? 0,
      others: cpu.others,
    };
    log(
      `${workers} worker(s), round ${round + 1}: ${Math.round(run.postsPerSecond)} posts/s, workers ${run.workerCores.toFixed(2)} cores → ${Math.round(run.perWorkerCore)} posts per worker core-second; haproxy ${run.haproxyCores.toFixed(2)}, redis ${run.redisCores.toFixed(2)}, generator ${run.generatorCores.toFixed(2)}, others ${run.others.toFixed(2)}`,
    );
    return run;
  } finally {
    await cluster.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function render(runs: LbRun[], started: Date, load: { start: number; end: number }): string {
  const c = lbConfig;
  const m = describeMachine();
  const per = (w: number) => median(runs.filter((r) => r.workers === w).map((r) => r.perWorkerCore));
  const ratio = per(2) / per(1);
  const rows = runs.map(
    (r) =>
      `| ${r.workers} | ${r.round + 1} | ${Math.round(r.postsPerSecond)} | ${r.workerCores.toFixed(2)} | ${Math.round(r.perWorkerCore)} | ${r.haproxyCores.toFixed(2)} | ${r.redisCores.toFixed(2)} | ${r.generatorCores.toFixed(2)} | ${r.others.toFixed(2)} |`,
  );
  return [
    '_Written by `npm run bench -- lb` (test/bench/lb-bench.ts); everything between the `bench:lb` markers is replaced on the next run._',
    '',
    `Run ${started.toISOString()} on ${m.cpuModel} (${m.nproc} CPUs, Node ${m.node}), load average ${load.start.toFixed(2)} at the start, ${load.end.toFixed(2)} at the end; source ${sourceRevision()}.`,
    `Fan-in through HAProxy (\`npm run cluster\` topology, TLS off, PROXY v2 on): ${c.publishers} signed devices, QoS 1, ${c.window} posts in flight each, ${c.warmupMs / 1000} s warm-up + ${c.measureMs / 1000} s measured, ${c.rounds} rounds per configuration. CPU in cores (1 = one core busy) over the measured window; nothing pinned.`,
    '',
    "| workers | round | posts/s | workers' CPU | posts per worker core-second | HAProxy | Redis | generator | other processes |",
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `**Two workers ÷ one, posts per worker core-second (medians): ${ratio.toFixed(2)}×** (target ≥ 0.95×: clustering costs at most 5 % per core). On this 2-core machine the workers share the cores with HAProxy, Redis and the generator, so the absolute posts/s do not scale; the per-core figure is the one to read.`,
  ].join('\n');
}

async function writeSection(section: string): Promise<void> {
  let doc = existsSync(DOC_PATH) ? await readFile(DOC_PATH, 'utf8') : '# Benchmarks\n';
  const block = `${START}\n${section}\n${END}`;
  const s = doc.indexOf(START);
  const e = doc.indexOf(END);
  doc =
    s >= 0 && e > s
      ? doc.slice(0, s) + block + doc.slice(e + END.length)
      : `${doc.trimEnd()}\n\n## Cluster behind HAProxy: cost per core\n\n${block}\n`;
  await writeFile(DOC_PATH, doc);
}

export async function runLbBenchmarks(): Promise<void> {
  const started = new Date();
  const loadStart = loadavg()[0] ?? NaN;
  const clkTck = clockTicks();
  const runs: LbRun[] = [];
  for (let round = 0; round < lbConfig.rounds; round++) {
    const order = round % 2 === 0 ? lbConfig.workers : [...lbConfig.workers].reverse();
    for (const w of order) runs.push(await oneRun(w, round, clkTck));
  }
  const section = render(runs, started, { start: loadStart, end: loadavg()[0] ?? NaN });
  console.log(section);
  await writeSection(section);
  log(`wrote ${DOC_PATH}`);
}
