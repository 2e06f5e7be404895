/**
 * The device GET of the REST group alone (test/bench/main.ts), printed and not written to
 * docs/BENCHMARKS.md: for profiling, for checking a change quickly and for the spread of the ratio.
 * BENCH_GET_ROUNDS rounds (default 1) of hub, bare, bare, hub, each round printing its own ratio
 * of req/s and of process CPU per GET (client and server share the process).
 *
 *   BENCH_GET_DEVICES=2000 BENCH_GET_REQUESTS=6000 BENCH_PROFILE=/tmp/prof node --import tsx test/bench/rest-get.ts
 *   BENCH_GET_DEVICES=2000 BENCH_GET_REQUESTS=4000 BENCH_GET_ROUNDS=5 node --import tsx test/bench/rest-get.ts
 */
import { loadavg } from 'node:os';
import { startHub } from '../src/index.js';
import { startBareServer } from './bare-server.js';
import { collectGarbage } from './memory.js';
import { mergeLoads, type LoadResult } from './load.js';
import { formatSummary, profileDir, startInProcessProfile, summarizeProfile } from './profile.js';
import { deviceList, prepareTenant, restBatchCreate } from './rest-batch-create.js';
import { deviceGetLoad, getDevice, randomPicks, type GetTarget } from './rest-device-get.js';
import { median } from './stats.js';

const DEVICES = Number(process.env['BENCH_GET_DEVICES'] ?? 10_000);
const REQUESTS = Number(process.env['BENCH_GET_REQUESTS'] ?? 20_000);
const ROUNDS = Number(process.env['BENCH_GET_ROUNDS'] ?? 1);
const SEED = 20_240_601;

const h = await startHub();
const tenant = await prepareTenant(h);
const created = await restBatchCreate(tenant, deviceList(tenant.productKey, DEVICES), 1_000);
const hubTarget: GetTarget = { client: tenant.client, orgId: tenant.orgId };
const { status: _status, ...envelope } = await getDevice(hubTarget, created.assetIds[0]!);
const bare = await startBareServer(envelope);
const bareTarget: GetTarget = { client: bare.client, orgId: tenant.orgId };
const measure = (t: GetTarget, picks: string[]): Promise<LoadResult> => {
  collectGarbage();
  return deviceGetLoad(t, picks, 1);
};
const warm = randomPicks(created.assetIds, 500, SEED + 1);
await measure(hubTarget, warm);
await measure(bareTarget, warm);
const dir = profileDir();
const cpuUsPerGet = (l: LoadResult) => (1000 * l.cpuMs) / l.requests;
const ratios: { rate: number; cpu: number }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const picks = randomPicks(created.assetIds, REQUESTS, SEED + 10 * round);
  const half = picks.length >> 1;
  const runs: { hub: LoadResult[]; bare: LoadResult[] } = { hub: [], bare: [] };
  for (const [peer, part] of [
    ['hub', picks.slice(0, half)],
    ['bare', picks.slice(0, half)],
    ['bare', picks.slice(half)],
    ['hub', picks.slice(half)],
  ] as const) {
    const profiler = dir ? await startInProcessProfile() : undefined;
    runs[peer].push(await measure(peer === 'hub' ? hubTarget : bareTarget, part));
    if (profiler && dir) {
      const profile = await profiler.stop(dir, `rest-get-${peer}-${round + 1}-${runs[peer].length}`);
      console.log(
        formatSummary(`${peer} GET, client and server in this process`, summarizeProfile(profile, undefined, 25), {
          count: part.length,
          name: 'GET',
        }),
      );
    }
  }
  const hub = mergeLoads(runs.hub);
  const bareLoad = mergeLoads(runs.bare);
  const r = { rate: hub.reqPerSec / bareLoad.reqPerSec, cpu: cpuUsPerGet(bareLoad) / cpuUsPerGet(hub) };
  ratios.push(r);
  console.log(
    `round ${round + 1}: hub ${hub.reqPerSec.toFixed(0)} req/s, bare ${bareLoad.reqPerSec.toFixed(0)} req/s: hub ÷ bare ${r.rate.toFixed(2)}×; ` +
      `process CPU per GET hub ${cpuUsPerGet(hub).toFixed(0)} µs, bare ${cpuUsPerGet(bareLoad).toFixed(0)} µs: bare ÷ hub ${r.cpu.toFixed(2)}× (load ${loadavg()[0]?.toFixed(2)})`,
  );
}
const span = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}× (median ${median(xs).toFixed(2)}×)`;
console.log(
  `${ROUNDS} rounds: req/s hub ÷ bare ${span(ratios.map((r) => r.rate))}; CPU per GET bare ÷ hub ${span(ratios.map((r) => r.cpu))}`,
);
await bare.close();
await h.close();
process.exit(0);
