/**
 * The queryLatest row of the telemetry group (test/bench/telemetry-bench.ts) alone, printed and not
 * written to docs/BENCHMARKS.md: for profiling and for checking a change quickly.
 *
 *   BENCH_LATEST_CALLS=100 BENCH_PROFILE=/tmp/prof node --import tsx test/bench/telemetry-latest.ts
 */
import { newTenant, provision, startHub } from '../src/index.js';
import { median } from './stats.js';
import { batchSamples, latestRounds, pointIds } from './telemetry-ingest.js';
import { formatSummary, profileDir, startInProcessProfile, summarizeProfile } from './profile.js';

const DEVICES = 200;
const CALLS = Number(process.env['BENCH_LATEST_CALLS'] ?? 100);
const T0 = Math.floor((Date.now() - 30 * 86_400_000) / 1000) * 1000;

const h = await startHub();
try {
  const { client, orgId } = await newTenant(h, 'latest-bench');
  const measurepoints = Object.fromEntries(pointIds.map((p) => [p, { dataType: 'DOUBLE' }]));
  const fleet = await provision(client, orgId, {
    productType: 'Device',
    deviceKeys: Array.from({ length: DEVICES }, (_, i) => `latest${i}`),
    product: { thingModel: { measurepoints } },
  });
  const assetIds = fleet.devices.map((d) => d.assetId);
  const store = h.hub.telemetry.store;
  await store.appendMeasurepoints(assetIds.flatMap((a) => batchSamples(a, T0, 0, 1).map((s) => ({ ...s, assetId: a, orgId }))));
  await latestRounds(client, orgId, store, assetIds, 5); // warm-up
  const dir = profileDir();
  const profiler = dir ? await startInProcessProfile() : undefined;
  const result = await latestRounds(client, orgId, store, assetIds, CALLS);
  if (profiler && dir) {
    const profile = await profiler.stop(dir, 'telemetry-latest');
    console.log(
      formatSummary('queryLatest, REST and direct calls alternating', summarizeProfile(profile, undefined, 25), {
        count: CALLS,
        name: 'call',
      }),
    );
  }
  const rest = median(result.restMs);
  const direct = median(result.directMs);
  const json = median(result.jsonMs);
  console.log(
    `queryLatest ${DEVICES} devices: REST ${rest.toFixed(2)} ms, direct ${direct.toFixed(2)} ms: ${(rest / direct).toFixed(2)}×; ` +
      `JSON round trip of the ${result.answerBytes}-byte answer ${json.toFixed(2)} ms: REST ÷ (direct + JSON) ${(rest / (direct + json)).toFixed(2)}×`,
  );
} finally {
  await h.close();
}
process.exit(0);
