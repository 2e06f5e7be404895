/**
 * The engine under the device path, alone, at the latency runs' pace (the peer of the `cluster`
 * group's latency rows, docs/BENCHMARKS.md "Device → application latency: the tail"): one child
 * process that writes to an LMDB environment opened as the hub's embedded telemetry store opens
 * its own (lmdb-js, `overlappingSync: false`, the same map size and msgpack sub-databases) exactly
 * the rows the hub writes for each post of the latency runs, at the same aggregate rate, and times
 * each post from its due time to the durable commit of the transaction holding it.
 *
 *   node --import tsx test/bench/lmdb-pace.ts <job.json>
 *
 * Shape, as in the hub: every post holds two samples (`temp`, `seq`) of one of N devices; the posts
 * that fall due in the same turn of a 1 ms timer share one child transaction (the hub groups the
 * posts of one event-loop turn, hub/src/telemetry/append-group.ts); each sample is one head row
 * under a four-part key [assetId, pointId, time, tie], and each series' latest value is read and
 * raised once per transaction. Nothing else: no MQTT, no JSON, no thing model, no replies. What the
 * hub's latency has above this is the hub's own work, and queueing behind it.
 * Bounded: a fixed window and a deadline; exits when its stdin closes.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { openPaceStore, putPost } from './pace-store.js';
import { summarize, type LatencySummary } from './stats.js';

export interface LmdbPaceJob {
  kind: 'lmdb-pace';
  /** The LMDB environment goes into `telemetry` under this directory (kept between runs, as the hub's store is). */
  dir: string;
  /** Posts per second, all devices together. */
  rate: number;
  devices: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
}

export interface LmdbPaceResult {
  kind: 'lmdb-pace';
  rate: number;
  /** Posts due in the window, and how many of them were committed by the end of the drain. */
  posted: number;
  committed: number;
  /** Transactions (commits) in the window. */
  commits: number;
  /** Due time → durable commit, per post of the window, ms. */
  latency: LatencySummary;
  /** This process's CPU over the window (its main thread and LMDB's write thread), µs per post. */
  cpuPerPostUs: number;
  /** The same, system (kernel) part. */
  sysPerPostUs: number;
}

export async function runLmdbPace(job: LmdbPaceJob): Promise<LmdbPaceResult> {
  const store = openPaceStore(job.dir);
  const { root, samples } = store;
  const assets = Array.from({ length: job.devices }, (_, i) => `pace${String(i).padStart(6, '0')}`);
  const start = performance.now();
  const windowFrom = start + job.warmupMs;
  const windowTo = windowFrom + job.measureMs;
  const latencies: number[] = [];
  let posted = 0;
  let commits = 0;
  let issued = 0;
  const pending = new Set<Promise<void>>();
  let cpuFrom: NodeJS.CpuUsage | undefined;
  let cpuTo: NodeJS.CpuUsage | undefined;

  const commit = (due: number[]) => {
    const time = Date.now();
    const counted = due.map((t) => t >= windowFrom && t < windowTo);
    const p: Promise<void> = samples
      .childTransaction(() => {
        for (const t of due) {
          const k = Math.round(t * job.rate) % job.devices;
          putPost(
            store,
            assets[k]!,
            [
              ['temp', 21.5],
              ['seq', issued],
            ],
            time,
          );
          issued++;
        }
      })
      .then(() => {
        const at = performance.now();
        due.forEach((t, i) => counted[i] && latencies.push(at - t));
      });
    if (counted.some(Boolean)) commits++;
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  // Post k is due at start + k / rate; each tick commits every post due by now in one transaction.
  let k = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (cpuFrom === undefined && now >= windowFrom) cpuFrom = process.cpuUsage();
      const due: number[] = [];
      for (let t = start + (k * 1000) / job.rate; t <= now && t < windowTo; t = start + (++k * 1000) / job.rate) {
        due.push(t);
        if (t >= windowFrom) posted++;
      }
      if (due.length > 0) commit(due);
      if (now >= windowTo) {
        cpuTo = process.cpuUsage();
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
  });
  const drainUntil = performance.now() + job.drainMs;
  while (pending.size > 0 && performance.now() < drainUntil) await Promise.race([...pending, new Promise((r) => setTimeout(r, 10))]);
  await root.close();
  const cpu = { user: cpuTo!.user - cpuFrom!.user, system: cpuTo!.system - cpuFrom!.system };
  return {
    kind: 'lmdb-pace',
    rate: job.rate,
    posted,
    committed: latencies.length,
    commits,
    latency: summarize(latencies),
    cpuPerPostUs: (cpu.user + cpu.system) / Math.max(1, posted),
    sysPerPostUs: cpu.system / Math.max(1, posted),
  };
}

if (process.argv[2]) {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as LmdbPaceJob;
  process.stdin.on('end', () => process.exit(3));
  process.stdin.resume();
  const result = await runLmdbPace(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
