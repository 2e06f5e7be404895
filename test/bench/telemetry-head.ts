/**
 * The embedded telemetry store under single posts from a fleet posting in lockstep (the latency
 * runs' load without MQTT): 100 devices × 2 measurepoints, each round one post per device, all of
 * a round appended together (one commit group, as the hub groups one event-loop turn's posts).
 * Prints the store's CPU per post and, from a CPU profile taken in the process, how much of it
 * went into moving head rows into blocks (compaction) and, of that, into deleting the moved head
 * rows one by one. docs/BENCHMARKS.md, "Device → application latency: the tail", cites it.
 *
 *   node --import tsx test/bench/telemetry-head.ts [rounds=800]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Session, type Profiler } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedTelemetryStore } from '../../hub/src/telemetry/store/embedded/store.js';
import type { SampleInput } from '../../hub/src/telemetry/store/port.js';

const DEVICES = 100;
const POINTS = ['temp', 'seq'];
const T0 = 1_700_000_000_000;
const rounds = Number(process.argv[2] ?? 800);

/** Milliseconds of samples whose stack holds a frame named `name` (each sample counted once). */
function timeUnder(profile: Profiler.Profile, name: string): number {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const under = new Map<number, boolean>();
  const isUnder = (id: number): boolean => {
    const known = under.get(id);
    if (known !== undefined) return known;
    const up = parent.get(id);
    const v = byId.get(id)!.callFrame.functionName === name || (up !== undefined && isUnder(up));
    under.set(id, v);
    return v;
  };
  let us = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) if (isUnder(samples[i]!)) us += deltas[i + 1] ?? 0;
  return us / 1000;
}

const dir = await mkdtemp(join(tmpdir(), 'edgehub-bench-head-'));
const store = await openEmbeddedTelemetryStore({ path: dir });
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.start');
const cpu0 = process.cpuUsage();
for (let r = 0; r < rounds; r++) {
  const posts: Promise<void>[] = [];
  for (let d = 0; d < DEVICES; d++) {
    const post: SampleInput[] = POINTS.map((pointId) => ({ assetId: `asset${d}`, orgId: 'o', pointId, time: T0 + r * 20, value: r + 0.5 }));
    posts.push(store.appendMeasurepoints(post));
  }
  await Promise.all(posts);
}
const cpu = process.cpuUsage(cpu0);
const { profile } = await session.post('Profiler.stop');
session.disconnect();
await store.close();
await rm(dir, { recursive: true, force: true });

const posts = rounds * DEVICES;
const txn = timeUnder(profile, 'executeTxnCallbacks');
const compaction = timeUnder(profile, 'compact');
const removing = timeUnder(profile, 'removeSync');
console.log(
  `${posts} posts (${DEVICES} devices × ${POINTS.length} points, ${rounds} rounds): store CPU ${((cpu.user + cpu.system) / posts).toFixed(1)} µs per post ` +
    `(system ${(cpu.system / posts).toFixed(1)}); in the profile: transaction callbacks ${txn.toFixed(0)} ms, of which compaction ${compaction.toFixed(0)} ms ` +
    `(${((100 * compaction) / txn).toFixed(0)} %; ${((1000 * compaction) / posts).toFixed(1)} µs per post), of which deleting the moved head rows ${removing.toFixed(0)} ms`,
);
