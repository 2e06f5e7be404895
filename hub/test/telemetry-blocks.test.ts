/**
 * The embedded store's time blocks (hub/src/telemetry/store/embedded/block.ts, blocks.ts): the
 * codec gives back exactly what it packed, and a store whose history went through compaction,
 * overwrites, retention and a reopen answers every query as a plain list of the same samples
 * would. A store written in the older row-per-sample layout opens with nothing lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { BLOCK_ROWS, decodeBlock, encodeBlock, type BlockRow } from '../src/telemetry/store/embedded/block.js';
import { openEmbeddedTelemetryStore } from '../src/telemetry/store/embedded/store.js';
import type { SampleInput, StoredSample, TelemetryStore } from '../src/telemetry/store/port.js';

const T = 1_700_000_000_000;
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'telemetry-blocks-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A small deterministic generator, so a failure replays. */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

describe('block codec', () => {
  it('round-trips times, numbers, qualities, resume flags and ties exactly', () => {
    const times = [0, 0, 1, 5, 5, 1000, 999_999, 1_000_000, 8_640_000_000_000_000, 8_640_000_000_000_000];
    const values = [0, -0, 1.5, -2.25, 1e300, Number.MIN_VALUE, 21.3, 21.3, 21.4, 3];
    const rows: BlockRow[] = times.map((time, i) => ({ time, tie: i % 3 === 1 ? `tie${i}` : '', v: values[i] }));
    rows[2]!.q = 0;
    rows[3]!.q = 9;
    rows[4]!.r = true;
    expect(decodeBlock(encodeBlock(rows))).toEqual(rows);
    expect(Object.is(decodeBlock(encodeBlock(rows))[1]!.v, -0)).toBe(true);
  });

  it('round-trips irregular series of random doubles, and any JSON value', () => {
    const next = rng(7);
    let t = T;
    const rows: BlockRow[] = Array.from({ length: BLOCK_ROWS }, () => {
      t += Math.floor(next() * (next() < 0.1 ? 1e9 : 3000));
      return { time: t, tie: '', v: (next() - 0.5) * 10 ** Math.floor(next() * 20 - 10) };
    });
    expect(decodeBlock(encodeBlock(rows))).toEqual(rows);
    const mixed: BlockRow[] = [
      { time: 1, tie: '', v: 'text' },
      { time: 2, tie: '', v: { nested: [1, null, true] } },
      { time: 3, tie: '', v: null },
      { time: 4, tie: '', v: 7 },
    ];
    expect(decodeBlock(encodeBlock(mixed))).toEqual(mixed);
  });

  it('packs a regular series of a slowly changing sensor into under 2 bytes per sample', () => {
    const rows: BlockRow[] = Array.from({ length: BLOCK_ROWS }, (_, i) => ({
      time: T + i * 1000,
      tie: '',
      v: 20 + Math.floor(i / 10) / 10,
    }));
    expect(encodeBlock(rows).length / rows.length).toBeLessThan(2);
  });
});

/** The reference: what a store must answer, as a plain list (device-dated identities replace). */
class Model {
  readonly rows = new Map<string, StoredSample & { assetId: string }>();
  add(s: SampleInput): void {
    const item: StoredSample & { assetId: string } = { assetId: s.assetId, pointId: s.pointId, time: s.time, value: s.value };
    if (s.quality !== undefined) item.quality = s.quality;
    if (s.resume) item.resume = true;
    this.rows.set(`${s.assetId}|${s.pointId}|${s.time}`, item);
  }
  history(assetId: string, pointIds: string[], from: number, to: number, order: 'ASC' | 'DESC'): StoredSample[] {
    const out = [...this.rows.values()]
      .filter((r) => r.assetId === assetId && pointIds.includes(r.pointId) && r.time >= from && r.time < to)
      .map(({ assetId: _a, ...r }) => r)
      .sort((a, b) => a.time - b.time || (a.pointId < b.pointId ? -1 : a.pointId > b.pointId ? 1 : 0));
    return order === 'ASC' ? out : out.reverse();
  }
  prune(before: number): number {
    let n = 0;
    for (const [k, r] of this.rows) if (r.time < before && this.rows.delete(k)) n++;
    return n;
  }
}

async function readAll(
  store: TelemetryStore,
  assetId: string,
  pointIds: string[],
  from: number,
  to: number,
  order: 'ASC' | 'DESC',
  limit: number,
) {
  const out: StoredSample[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.history({ assetId, pointIds, startTime: from, endTime: to, order, limit, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

describe('embedded store over blocks', () => {
  it('answers like a plain list through compaction, overwrites, out-of-order data, retention and reopen', async () => {
    const dir = tempDir();
    let store = await openEmbeddedTelemetryStore({ path: dir });
    const model = new Model();
    const next = rng(42);
    const append = async (samples: SampleInput[]) => {
      await store.appendMeasurepoints(samples);
      samples.forEach((s) => model.add(s));
    };
    const sample = (pointId: string, time: number, value: unknown, extra: Partial<SampleInput> = {}): SampleInput => ({
      assetId: 'a',
      orgId: 'o',
      pointId,
      time,
      value,
      ...extra,
    });
    // In order, a few at a time (head, then compaction), for two points.
    for (let i = 0; i < 3000; i += 3) {
      await append(
        [0, 1, 2].flatMap((k) => [
          sample('p', T + (i + k) * 1000, i + k),
          sample('q', T + (i + k) * 1000, (i + k) / 10, { quality: (i + k) % 10 }),
        ]),
      );
    }
    // A large batch straight into blocks, some of it overwriting what is there, with a text value.
    await append(Array.from({ length: 500 }, (_, i) => sample('p', T + (2800 + i) * 1000, i === 7 ? 'text' : 1 - i)));
    // Out-of-order resumed data between existing samples, a few at a time and as one batch.
    for (let i = 0; i < 40; i++) await append([sample('p', T + Math.floor(next() * 3000) * 1000 + 500, i, { resume: true })]);
    await append(Array.from({ length: 100 }, (_, i) => sample('q', T + i * 7000 + 1, i * 2, { resume: true })));
    // Overwrites of compacted samples, one at a time (they stay in the head, which wins).
    for (let i = 0; i < 20; i++) await append([sample('p', T + i * 100_000, `new${i}`)]);

    const check = async () => {
      for (const order of ['ASC', 'DESC'] as const) {
        expect(await readAll(store, 'a', ['p', 'q'], T, T + 4_000_000, order, 1000)).toEqual(
          model.history('a', ['p', 'q'], T, T + 4_000_000, order),
        );
        const from = T + 1_234_567;
        const to = T + 2_345_678;
        expect(await readAll(store, 'a', ['q', 'p'], from, to, order, 97)).toEqual(model.history('a', ['p', 'q'], from, to, order));
      }
    };
    await check();
    // Retention: the exact count, inside a block and across whole blocks.
    const cut = T + 1_500_250;
    expect(await store.prune(cut)).toBe(model.prune(cut));
    await check();
    // Writes into blocks the sweep cut: old rows stay gone, new ones and overwrites show.
    await append(Array.from({ length: 100 }, (_, i) => sample('q', cut + i * 10, `after${i}`)));
    for (let i = 0; i < 5; i++) await append([sample('p', cut + 1000 * i + 1, i * 3)]);
    await check();
    expect(await store.prune(cut + 1)).toBe(model.prune(cut + 1));
    await check();
    await store.close();
    store = await openEmbeddedTelemetryStore({ path: dir });
    await check();
    expect((await store.latest(['a'], ['p'])).get('a')).toEqual({ p: { value: -498, time: T + 3299 * 1000 } });
    await store.close();
  });

  it.each([1, 2])('loses no overwrite, late sample or large batch that arrives while compactions and prunes run (run %i)', async (seed) => {
    // Writers that each wait only for their own last append, as a busy hub's devices do, so that
    // appends of every kind are in flight around the compactions they trigger: new samples,
    // overwrites of head rows, late samples between them, batches straight into blocks, and
    // prunes. One series, so that much of what is in flight touches the rows being compacted.
    // Of two writes to one identity, the one issued last wins.
    const dir = tempDir();
    let store = await openEmbeddedTelemetryStore({ path: dir });
    const model = new Model();
    const next = rng(seed);
    const sample = (time: number, value: unknown): SampleInput => ({ assetId: 'c', orgId: 'o', pointId: 'p', time, value });
    let newest = T;
    let floor = T;
    // A time already written: half of them among the newest rows (the head), half anywhere.
    const earlier = () => newest - Math.floor(next() * (next() < 0.5 ? Math.min(newest - floor, 100_000) : newest - floor));
    const fresh = (n: number) => sample((newest += 1000), n);
    /** The next write: mostly new samples, then overwrites and late ones, and a few large batches. */
    const nextWrite = (n: number): SampleInput[] => {
      const kind = next();
      if (kind < 0.72) return [fresh(n)];
      // Older samples come alone (the append reads first) or with a new one (plain writes).
      const withFresh = (old: SampleInput) => (next() < 0.5 ? [old] : [old, fresh(n)]);
      if (kind < 0.88) return withFresh(sample(Math.floor(earlier() / 1000) * 1000, `over${n}`));
      if (kind < 0.96) return withFresh(sample(earlier() + 1 + Math.floor(next() * 998), `late${n}`));
      const from = earlier();
      return Array.from({ length: 80 }, (_, i) => sample(from + i * 500, `bulk${n}.${i}`));
    };
    let appends = 0;
    const prunes: Promise<number>[] = [];
    const writer = async () => {
      while (appends < 12_000) {
        const n = appends++;
        if (n % 2000 === 1000) {
          floor = T + n * 100;
          prunes.push(store.prune(floor));
          model.prune(floor);
        }
        const samples = nextWrite(n);
        const done = store.appendMeasurepoints(samples);
        samples.forEach((s) => model.add(s));
        // Some writers also wait a turn of the event loop, so appends land in different commits.
        await (next() < 0.3 ? Promise.all([done, new Promise((r) => setImmediate(r))]) : done);
      }
    };
    await Promise.all(Array.from({ length: 12 }, writer));
    await Promise.all(prunes);
    const check = async () => {
      for (const order of ['ASC', 'DESC'] as const)
        expect(await readAll(store, 'c', ['p'], T, newest + 1, order, 1000)).toEqual(model.history('c', ['p'], T, newest + 1, order));
    };
    await check();
    await store.close();
    store = await openEmbeddedTelemetryStore({ path: dir });
    await check();
    await store.close();
  });

  it('keeps hub-dated samples of one millisecond apart, in arrival order, in blocks as in the head', async () => {
    const store = await openEmbeddedTelemetryStore({ path: tempDir() });
    const rows = Array.from({ length: 200 }, (_, i): SampleInput => ({
      assetId: 'h',
      orgId: 'o',
      pointId: 'p',
      time: T,
      value: i,
      hubTime: true,
    }));
    await store.appendMeasurepoints(rows);
    for (let i = 0; i < 5; i++)
      await store.appendMeasurepoints([{ assetId: 'h', orgId: 'o', pointId: 'p', time: T, value: 200 + i, hubTime: true }]);
    const all = await readAll(store, 'h', ['p'], T, T + 1, 'ASC', 1000);
    expect(all.map((s) => s.value)).toEqual(Array.from({ length: 205 }, (_, i) => i));
    await store.close();
  });
});

describe('a store written in the row-per-sample layout', () => {
  it('opens with every sample and event readable, moves samples into blocks, and prunes old events', async () => {
    const dir = tempDir();
    // Today's layout before blocks: what hub releases up to this one wrote.
    const env = open({ path: dir, maxDbs: 8 });
    const samples = env.openDB({ name: 'samples', encoding: 'msgpack' });
    const events = env.openDB({ name: 'events', encoding: 'msgpack' });
    const latest = env.openDB({ name: 'latest', encoding: 'msgpack' });
    await env.transaction(() => {
      for (let i = 0; i < 5000; i++) samples.putSync(['a', 'p', T + i * 1000], i % 7 ? { v: i } : { v: i, q: 3, r: true });
      samples.putSync(['a', 'p', T + 5, '0000000000000001abcdef01'], { v: 'hub-dated' });
      events.putSync(['a', 'e', T], { values: { n: 1 } });
      events.putSync(['a', 'e', T + 4_000_000], { values: { n: 2 } });
      latest.putSync(['a', 'm', 'p'], { o: 'o', t: T + 4_999_000, v: 4999 });
      latest.putSync(['a', 'e', 'e'], { o: 'o', t: T + 4_000_000, values: { n: 2 } });
    });
    await env.close();

    const expected: StoredSample[] = [];
    for (let i = 0; i < 5000; i++) {
      expected.push(
        i % 7 ? { pointId: 'p', time: T + i * 1000, value: i } : { pointId: 'p', time: T + i * 1000, value: i, quality: 3, resume: true },
      );
      if (i === 0) expected.push({ pointId: 'p', time: T + 5, value: 'hub-dated' });
    }
    const store = await openEmbeddedTelemetryStore({ path: dir });
    expect(await readAll(store, 'a', ['p'], T, T + 10_000_000, 'ASC', 1000)).toEqual(expected);
    expect((await store.latest(['a'])).get('a')).toEqual({ p: { value: 4999, time: T + 4_999_000 } });
    // Retention runs after the move into blocks and finds the old events through the new index.
    expect(await store.prune(T + 1000)).toBe(3);
    expect(await readAll(store, 'a', ['p'], T, T + 10_000_000, 'DESC', 333)).toEqual(expected.slice(2).reverse());
    expect((await store.eventHistory({ assetId: 'a', eventIds: ['e'], startTime: 0, endTime: T + 10_000_000 })).items).toEqual([
      { eventId: 'e', time: T + 4_000_000, values: { n: 2 } },
    ]);
    await store.close();
    // Everything moved: the head is empty, the history is in blocks.
    const after = open({ path: dir, maxDbs: 16 });
    expect(after.openDB({ name: 'samples', encoding: 'msgpack' }).getCount()).toBe(0);
    expect(after.openDB({ name: 'blocks', encoding: 'binary' }).getCount()).toBeGreaterThan(0);
    await after.close();
  });
});
