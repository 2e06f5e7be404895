/**
 * Telemetry storage and retention (test/bench/telemetry-bench.ts): bytes on disk per point of the
 * embedded store against the raw sample (16 B: time and float64) and against the row-per-sample
 * layout holding the same rows; the retention sweep's cost against what it removes, and the
 * latency of appends while it runs against appends on their own.
 */
import { readdir, stat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { openEmbeddedTelemetryStore } from '../../hub/src/telemetry/store/embedded/store.js';
import type { SampleInput, TelemetryStore } from '../../hub/src/telemetry/store/port.js';
import { batchSamples } from './telemetry-ingest.js';

export interface Footprint {
  /** Pages up to the file's high-water mark, times the page size. */
  pageBytes: number;
  /** Blocks the files take on disk (du). */
  diskBytes: number;
}

async function footprint(dir: string): Promise<Footprint> {
  let diskBytes = 0;
  for (const f of await readdir(dir)) diskBytes += (await stat(join(dir, f))).blocks * 512;
  const env = open({ path: dir, maxDbs: 16, readOnly: true });
  const s = env.getStats() as { pageSize: number; lastPageNumber: number };
  await env.close();
  return { pageBytes: (s.lastPageNumber + 1) * s.pageSize, diskBytes };
}

/** Writes `entries` seconds of POINTS points per device through `append`, in post/batch-sized appends. */
async function fill(append: (b: SampleInput[]) => Promise<void>, devices: number, entries: number, t0: number): Promise<number> {
  const per = 1000;
  let n = 0;
  for (let first = 0; first < entries; first += per) {
    for (let d = 0; d < devices; d++) {
      const b = batchSamples(`asset${d}`, t0, first, Math.min(per, entries - first));
      await append(b);
      n += b.length;
    }
  }
  return n;
}

export interface StorageResult {
  points: number;
  blocks: Footprint;
  rows: Footprint;
}

export async function storageFootprint(devices: number, entries: number, t0: number): Promise<StorageResult> {
  const blocksDir = await mkdtemp(join(tmpdir(), 'bench-telemetry-blocks-'));
  const rowsDir = await mkdtemp(join(tmpdir(), 'bench-telemetry-rows-'));
  try {
    const store = await openEmbeddedTelemetryStore({ path: blocksDir });
    const points = await fill((b) => store.appendMeasurepoints(b), devices, entries, t0);
    await store.close();
    const env = open({ path: rowsDir, maxDbs: 4 });
    const samples = env.openDB({ name: 'samples', encoding: 'msgpack' });
    await fill(
      (b) =>
        env.childTransaction(() => {
          for (const s of b) samples.putSync([s.assetId, s.pointId, s.time], { v: s.value });
        }),
      devices,
      entries,
      t0,
    );
    await env.close();
    return { points, blocks: await footprint(blocksDir), rows: await footprint(rowsDir) };
  } finally {
    await rm(blocksDir, { recursive: true, force: true });
    await rm(rowsDir, { recursive: true, force: true });
  }
}

export interface SweepResult {
  stored: number;
  removed: number;
  ms: number;
}

export interface RetentionResult {
  small: SweepResult;
  large: SweepResult;
  /** Single-sample append latencies (ms) on their own, and while the large sweep ran. */
  appendIdleMs: number[];
  appendDuringSweepMs: number[];
}

export async function retention(devices: number, entries: number, t0: number): Promise<RetentionResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-telemetry-retention-'));
  let store: TelemetryStore | undefined;
  try {
    store = await openEmbeddedTelemetryStore({ path: dir });
    const s = store;
    const stored = await fill((b) => s.appendMeasurepoints(b), devices, entries, t0);
    const sweep = async (cut: number): Promise<SweepResult> => {
      const t = performance.now();
      const removed = await s.prune(cut);
      return { stored, removed, ms: performance.now() - t };
    };
    let k = 0;
    const appendOnce = async () => {
      const t = performance.now();
      await s.appendMeasurepoints([{ assetId: 'live', orgId: 'o', pointId: 'p', time: t0 + entries * 1000 + k++, value: k }]);
      return performance.now() - t;
    };
    // 1,000 samples at the old end (5 per series), then half of everything.
    const small = await sweep(t0 + Math.ceil(1000 / (devices * 10)) * 1000);
    const appendIdleMs: number[] = [];
    for (let i = 0; i < 50; i++) appendIdleMs.push(await appendOnce());
    const appendDuringSweepMs: number[] = [];
    let sweeping = true;
    const large = sweep(t0 + Math.floor(entries / 2) * 1000).finally(() => (sweeping = false));
    while (sweeping) appendDuringSweepMs.push(await appendOnce());
    return { small, large: await large, appendIdleMs, appendDuringSweepMs };
  } finally {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
