/**
 * The queryLatest row of the telemetry group (test/bench/telemetry-bench.ts) alone, printed and not
 * written to docs/BENCHMARKS.md: for profiling, for checking a change quickly, and for where the
 * REST call's time goes (docs/BENCHMARKS.md, "REST: where the time goes"). Each call alternates:
 * - REST: the signed queryLatest call to the hub;
 * - direct: the store's `latest` read for the same 200 devices (the row's peer);
 * - JSON: `JSON.stringify` + `JSON.parse` of the very answer (what any JSON API pays on top);
 * - bare: the same signed call (same client, same body) to a bare fastify server answering the
 *   hub's answer as a fixed, already serialized text: HTTP and the client, without store or JSON encoding;
 * - floor: the same call to bare fastify making the same store read and encoding the answer, what
 *   any JSON REST server must do for this call (`startLatestFloor`).
 *
 *   BENCH_LATEST_CALLS=100 BENCH_PROFILE=/tmp/prof node --import tsx test/bench/telemetry-latest.ts
 */
import { loadavg } from 'node:os';
import { newTenant, provision, startHub } from '../src/index.js';
import { median } from './stats.js';
import { batchSamples, latestRounds, pointIds, startLatestFloor, startLatestPeer } from './telemetry-ingest.js';
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
  const bare = await startLatestPeer(client, orgId, assetIds);
  const floor = await startLatestFloor(store, fleet.devices);
  const rounds = (calls: number) => latestRounds(client, orgId, store, assetIds, calls, { bare, floor });
  await rounds(5); // warm-up
  const dir = profileDir();
  const profiler = dir ? await startInProcessProfile() : undefined;
  const result = await rounds(CALLS);
  if (profiler && dir) {
    const profile = await profiler.stop(dir, 'telemetry-latest');
    console.log(
      formatSummary('queryLatest: REST, direct, JSON round trip and bare calls alternating', summarizeProfile(profile, undefined, 25), {
        count: CALLS,
        name: 'call',
      }),
    );
  }
  await bare.close();
  await floor.close();
  const rest = median(result.restMs);
  const direct = median(result.directMs);
  const json = median(result.jsonMs);
  const bareMs = median(result.bareMs);
  const floorMs = median(result.floorMs);
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  console.log(
    `queryLatest ${DEVICES} devices, medians of ${CALLS} (load ${loadavg()[0]?.toFixed(2)}): REST ${ms(rest)}, direct ${ms(direct)}: ${(rest / direct).toFixed(2)}×; ` +
      `JSON round trip of the ${result.answerBytes}-byte answer ${ms(json)}: REST ÷ (direct + JSON) ${(rest / (direct + json)).toFixed(2)}×; ` +
      `bare fastify answering the same bytes to the same client ${ms(bareMs)} (${(bareMs / direct).toFixed(2)}× direct): ` +
      `REST − bare ${ms(rest - bareMs)} = ${((rest - bareMs) / direct).toFixed(2)}× direct (the hub's own share: store read, encoding, checks); ` +
      `floor (bare fastify reading the store and encoding) ${ms(floorMs)} = ${(floorMs / direct).toFixed(2)}× direct; REST ÷ floor ${(rest / floorMs).toFixed(2)}×`,
  );
} finally {
  await h.close();
}
process.exit(0);
