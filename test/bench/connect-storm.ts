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
import { clockTicks } from './mqtt-proc.js';

// The storm spawns the compiled hub (as `npm start` runs it): build it when stale, as test/bench/main.ts does.
if (spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { stdio: 'inherit' }).status !== 0) process.exit(1);

const perConnect = (cpuSeconds: number, n: number) => Math.round((cpuSeconds / n) * 1e6);
const runs = await connectStorms(clockTicks());
for (const { peer, result: r } of runs) {
  console.log(
    `${peer}: ${r.accepted} connects, ${Math.round(r.connectsPerSec)}/s; CPU per CONNECT ${perConnect(r.brokerCpuSeconds, r.accepted)} µs, per DISCONNECT ${perConnect(r.disconnectCpuSeconds, r.accepted)} µs, together ${perConnect(r.brokerCpuSeconds + r.disconnectCpuSeconds, r.accepted)} µs` +
      (r.commits
        ? `; store writes per commit ${(r.accepted / r.commits.connect).toFixed(1)} (CONNECT), ${(r.accepted / r.commits.disconnect).toFixed(1)} (DISCONNECT)`
        : ''),
  );
}
for (const { peer, reconnect: r } of runs) {
  if (!r) continue;
  console.log(
    `${peer}, reconnect to the same process: ${Math.round(r.connectsPerSec)}/s; CPU per CONNECT ${perConnect(r.brokerCpuSeconds, r.accepted)} µs, per DISCONNECT ${perConnect(r.disconnectCpuSeconds, r.accepted)} µs, together ${perConnect(r.brokerCpuSeconds + r.disconnectCpuSeconds, r.accepted)} µs` +
      (r.commits
        ? `; store writes per commit ${(r.accepted / r.commits.connect).toFixed(1)} (CONNECT), ${(r.accepted / r.commits.disconnect).toFixed(1)} (DISCONNECT)`
        : ''),
  );
}
const cycle = (p: string) => {
  const r = runs.find((x) => x.peer === p)!.result;
  return (r.brokerCpuSeconds + r.disconnectCpuSeconds) / r.accepted;
};
console.log(`hub ÷ aedes, CPU per CONNECT + DISCONNECT: ${(cycle('hub') / cycle('aedes')).toFixed(2)}×`);
const again = (p: string) => {
  const r = runs.find((x) => x.peer === p)!.reconnect!;
  return (r.brokerCpuSeconds + r.disconnectCpuSeconds) / r.accepted;
};
console.log(`hub ÷ aedes, reconnect to the same process: ${(again('hub') / again('aedes')).toFixed(2)}×`);
// The floor (test/bench/mqtt-floor-server.ts): bare aedes plus only what the hub may not drop.
console.log(
  `floor ÷ aedes: ${(cycle('floor') / cycle('aedes')).toFixed(2)}× / ${(again('floor') / again('aedes')).toFixed(2)}× (first storm / reconnect); ` +
    `hub ÷ floor: ${(cycle('hub') / cycle('floor')).toFixed(2)}× / ${(again('hub') / again('floor')).toFixed(2)}×`,
);
process.exit(0);
