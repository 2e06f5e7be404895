/**
 * The engine peers' LMDB store (test/bench/lmdb-pace.ts, and the broker + engine peer in
 * test/bench/mqtt-aedes-server.ts): an environment opened as the hub's embedded telemetry store
 * opens its own (lmdb-js, `overlappingSync: false`, the same map size and msgpack sub-databases),
 * and the rows the hub writes for one measurepoint post.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';

/** The map size the embedded store reserves (hub/src/telemetry/store/embedded/store.ts). */
const MAP_SIZE = 2 ** 36;

type SeriesKey = [string, string, number, string];
type LatestKey = [string, 'm', string];

/** An LMDB environment opened as the hub's embedded telemetry store opens its own, with its two sub-databases a post writes to. */
export interface PaceStore {
  root: RootDatabase;
  samples: Database<{ v: unknown }, SeriesKey>;
  latest: Database<{ o: string; t: number; v: unknown }, LatestKey>;
}

export function openPaceStore(dir: string): PaceStore {
  const path = join(dir, 'telemetry');
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const root = open({ path, maxDbs: 16, overlappingSync: false, mapSize: MAP_SIZE });
  return {
    root,
    samples: root.openDB({ name: 'samples', encoding: 'msgpack' }),
    latest: root.openDB({ name: 'latest', encoding: 'msgpack' }),
  };
}

let tie = 0;

/**
 * One post's rows, inside a write transaction: each measurepoint a head row under a four-part key,
 * and the series' latest value read and raised.
 */
export function putPost(store: PaceStore, assetId: string, values: readonly (readonly [string, unknown])[], time: number): void {
  for (const [pointId, v] of values) {
    store.samples.putSync([assetId, pointId, time, (tie++).toString(36)], { v });
    const key: LatestKey = [assetId, 'm', pointId];
    const current = store.latest.get(key);
    if (current === undefined || current.t <= time) store.latest.putSync(key, { o: 'org', t: time, v });
  }
}
