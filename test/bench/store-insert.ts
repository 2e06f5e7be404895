import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DeviceRecord } from '../../hub/src/registry/records.js';
import { collectionSpecs } from '../../hub/src/registry/collections.js';
import { openStore } from '../../hub/src/store/open.js';
import type { RunningHub } from '../src/index.js';

export interface StoreInsertRun {
  devices: number;
  elapsedMs: number;
  devicesPerSec: number;
  /** Wall time of each insertMany, in order. */
  batchMs: number[];
  /**
   * `count({productKey})` before each batch, over 0, 1 batch, 2 batches … of devices: the count
   * batchCreate runs before every call (the per-product limit). Measured between the inserts and
   * left out of elapsedMs.
   */
  countMs: number[];
}

/** The records a hub stored for a product, in creation order (sequential deviceKey), read outside any timing. */
export async function storedDevices(h: RunningHub, productKey: string): Promise<DeviceRecord[]> {
  const devices = await h.hub.store.collection<DeviceRecord>(collectionSpecs.devices);
  const { items } = await devices.find({ productKey }, { sort: [{ field: 'deviceKey', order: 'ASC' }] });
  return items;
}

/**
 * The floor for batchCreate: the same records inserted straight into a fresh embedded store with
 * the same batching as the REST path (one insertMany, hence one LMDB transaction and sync, per batch).
 */
export async function storeInsertMany(records: DeviceRecord[], batch: number): Promise<StoreInsertRun> {
  const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-bench-store-'));
  const store = await openStore({ dataDir });
  try {
    const devices = await store.collection<DeviceRecord>(collectionSpecs.devices);
    const productKey = records[0]?.productKey ?? '';
    const batchMs: number[] = [];
    const countMs: number[] = [];
    let elapsedMs = 0;
    for (let i = 0; i < records.length; i += batch) {
      const c0 = performance.now();
      const n = await devices.count({ productKey });
      countMs.push(performance.now() - c0);
      if (n !== i) throw new Error(`store holds ${n} devices, expected ${i}`);
      const b0 = performance.now();
      const outcomes = await devices.insertMany(records.slice(i, i + batch));
      batchMs.push(performance.now() - b0);
      elapsedMs += batchMs[batchMs.length - 1]!;
      if (outcomes.some((o) => o !== undefined)) throw new Error('store insertMany reported a duplicate');
    }
    return { devices: records.length, elapsedMs, devicesPerSec: (records.length / elapsedMs) * 1000, batchMs, countMs };
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
