/**
 * The connect storm of the MQTT group alone (test/bench/mqtt-bench.ts), printed and not written to
 * docs/BENCHMARKS.md: for profiling and for checking a change quickly.
 *
 *   BENCH_STORM_DEVICES=2000 BENCH_PROFILE=/tmp/prof node --import tsx test/bench/connect-storm.ts
 *
 * With BENCH_PROFILE the hub, bare aedes and the floor peer are all sampled through their inspectors.
 */
import { spawnSync } from 'node:child_process';
import { connectStorms } from './mqtt-bench.js';
import type { StormResult } from './mqtt-loadgen.js';
import { clockTicks } from './mqtt-proc.js';

// The storm spawns the compiled hub (as `npm start` runs it): build it when stale, as test/bench/main.ts does.
if (spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { stdio: 'inherit' }).status !== 0) process.exit(1);

const perConnect = (cpuSeconds: number, n: number) => Math.round((cpuSeconds / n) * 1e6);
const runs = await connectStorms(clockTicks());
const describe = (label: string, r: StormResult, rate: string) =>
  console.log(
    `${label}: ${rate}; CPU per CONNECT ${perConnect(r.brokerCpuSeconds, r.accepted)} µs, per DISCONNECT ${perConnect(r.disconnectCpuSeconds, r.accepted)} µs, together ${perConnect(r.brokerCpuSeconds + r.disconnectCpuSeconds, r.accepted)} µs` +
      (r.commits
        ? `; store writes per commit ${(r.accepted / r.commits.connect).toFixed(1)} (CONNECT), ${(r.accepted / r.commits.disconnect).toFixed(1)} (DISCONNECT)`
        : ''),
  );
for (const { peer, result: r } of runs) describe(peer, r, `${r.accepted} connects, ${Math.round(r.connectsPerSec)}/s`);
for (const { peer, reconnect: r } of runs)
  if (r) describe(`${peer}, reconnect to the same process`, r, `${Math.round(r.connectsPerSec)}/s`);

/** CPU per CONNECT + DISCONNECT of a peer's first storm, or of its reconnect. */
const perCycle = (peer: string, storm: 'result' | 'reconnect') => {
  const r = runs.find((x) => x.peer === peer)![storm]!;
  return (r.brokerCpuSeconds + r.disconnectCpuSeconds) / r.accepted;
};
const vs = (x: string, y: string, storm: 'result' | 'reconnect') => `${(perCycle(x, storm) / perCycle(y, storm)).toFixed(2)}×`;
console.log(`hub ÷ aedes, CPU per CONNECT + DISCONNECT: ${vs('hub', 'aedes', 'result')}`);
console.log(`hub ÷ aedes, reconnect to the same process: ${vs('hub', 'aedes', 'reconnect')}`);
// The floor (test/bench/mqtt-floor-server.ts): bare aedes plus only what the hub may not drop.
console.log(
  `floor ÷ aedes: ${vs('floor', 'aedes', 'result')} / ${vs('floor', 'aedes', 'reconnect')} (first storm / reconnect); ` +
    `hub ÷ floor: ${vs('hub', 'floor', 'result')} / ${vs('hub', 'floor', 'reconnect')}`,
);
process.exit(0);
