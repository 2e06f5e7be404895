/**
 * The V8 options every hub process runs with: `npm start` and `npm run cluster` (package.json),
 * the cluster's nodes (local-cluster.ts) and the containers (docker-compose.yml) all give these,
 * and test/integration/hub-node-flags.test.ts holds them to it. Why these two
 * (docs/BENCHMARKS.md, "Device → application latency: the tail"; docs/DEPLOYMENT.md):
 * - `--initial-old-space-size=128`: V8 otherwise keeps the old generation's limit at 1.1–1.2 × what
 *   survived the last full collection, so under a steady load a full collection, tens of ms of
 *   marking on the node's core, came every 11–20 s and set the p99 of any window it fell in. With
 *   room for 128 MB, a whole latency run's GC log showed full collections only at start-up; the
 *   price is up to that much memory held as garbage between collections.
 * - `--max-semi-space-size=32`: half the young generation the hub had before (64), whose scavenges
 *   took 4–11 ms, the next floor of the tail once full collections were rare. V8's own 16 shortened
 *   them further but cost a fifth of the QoS 1 fan-in; 32 kept the fan-in and the tail's target.
 */
export const hubNodeFlags: readonly string[] = ['--max-semi-space-size=32', '--initial-old-space-size=128'];
