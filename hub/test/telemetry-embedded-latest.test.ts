/**
 * The embedded telemetry store writes an append whose latest values need no read as plain queued
 * writes, and one that must read first as a transaction (hub/src/telemetry/store/embedded/store.ts,
 * "LatestCeilings"). What a caller relies on must not depend on which way an append went: appends
 * issued together land in the order they were issued, and the newest sample is the latest value,
 * after a restart as well.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedTelemetryStore } from '../src/telemetry/store/embedded/store.js';
import type { SampleInput, TelemetryStore } from '../src/telemetry/store/port.js';

const T = 1_700_000_000_000;
const sample = (pointId: string, time: number, value: unknown): SampleInput => ({ assetId: 'a1', orgId: 'o1', pointId, value, time });

describe('embedded telemetry store: latest values of appends issued together', () => {
  const dirs: string[] = [];
  const stores: TelemetryStore[] = [];
  const open = async (dir?: string): Promise<{ store: TelemetryStore; dir: string }> => {
    const path = dir ?? mkdtempSync(join(tmpdir(), 'edgehub-latest-'));
    if (!dir) dirs.push(path);
    const store = await openEmbeddedTelemetryStore({ path });
    stores.push(store);
    return { store, dir: path };
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('lets the later of two appends issued together win for the same point and time, when the first had to read', async () => {
    const { store } = await open();
    await store.appendMeasurepoints([sample('p', T, 0)]);
    // The first append brings a point never seen (its latest must be read); the second only a
    // point whose latest is known. The second was issued last: its value is the one kept.
    await Promise.all([
      store.appendMeasurepoints([sample('p', T + 100, 'first'), sample('fresh', T, 'x')]),
      store.appendMeasurepoints([sample('p', T + 100, 'second')]),
    ]);
    expect((await store.latest(['a1'])).get('a1')).toEqual({
      p: { value: 'second', time: T + 100 },
      fresh: { value: 'x', time: T },
    });
    const h = await store.history({ assetId: 'a1', pointIds: ['p'], startTime: T, endTime: T + 1000 });
    expect(h.items.map((s) => [s.time - T, s.value])).toEqual([
      [0, 0],
      [100, 'second'],
    ]);
  });

  it('keeps the latest value and every row across a restart, and reads the stored latest again after it', async () => {
    const { store, dir } = await open();
    for (let i = 1; i <= 20; i++) await store.appendMeasurepoints([sample('p', T + i * 10, i)]);
    await Promise.all([30, 25, 21].map((i) => store.appendMeasurepoints([sample('p', T + i * 10, i)])));
    await store.close();
    stores.pop();

    const again = await open(dir);
    // Older than what is stored: history gets it, latest stays.
    await again.store.appendMeasurepoints([sample('p', T + 5, 'older')]);
    expect((await again.store.latest(['a1'])).get('a1')).toEqual({ p: { value: 30, time: T + 300 } });
    await again.store.appendMeasurepoints([sample('p', T + 310, 31)]);
    expect((await again.store.latest(['a1'])).get('a1')).toEqual({ p: { value: 31, time: T + 310 } });
    const h = await again.store.history({ assetId: 'a1', pointIds: ['p'], startTime: T, endTime: T + 1000 });
    expect(h.items.map((s) => s.value)).toEqual(['older', ...Array.from({ length: 20 }, (_, i) => i + 1), 21, 25, 30, 31]);
  });
});
