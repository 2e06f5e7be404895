/**
 * The store-and-forward buffer (issue 6 scope 6): order, bounds and their counters, peek/ack,
 * batch sizes, and replay through `thing.measurepoint.resume.batch`. Crash safety is in
 * buffer-crash.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES } from '@edgehub/shared';
import {
  MAX_RESUME_PARAMS_BYTES,
  openReadingBuffer,
  replayBuffer,
  toResumeBatchPayload,
  type BufferedReading,
  type DropPolicy,
  type Reading,
  type ReadingBuffer,
  type ReadingBufferOptions,
} from '../src/buffer/index.js';

const T0 = 1_700_000_000_000;
const BIG = 64 * 1024 * 1024;
const HOUR = 3_600_000;

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edge-buffer-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const freshDir = () => join(root, `b${++n}`);

function open(dir: string, o: Partial<ReadingBufferOptions> = {}): Promise<ReadingBuffer> {
  return openReadingBuffer({ dir, maxBytes: BIG, maxAgeMs: Infinity, dropPolicy: 'drop-oldest', ...o });
}

/** The g-th reading of a test: a sub-device of the edge sampled at its own time. */
function reading(g: number, time = T0 + g * 1000, pad = 0): Reading {
  return {
    productKey: 'subPk',
    deviceKey: `inv${g % 3}`,
    time,
    measurepoints: { seq: g, power: { value: g, quality: 9 }, ...(pad > 0 ? { note: 'x'.repeat(pad) } : {}) },
  };
}

const seqOf = (b: BufferedReading) => b.reading.measurepoints['seq'];
const wireBytes = (r: Reading) =>
  Buffer.byteLength(JSON.stringify(toResumeBatchPayload([{ id: '1', reading: r, bytes: 0 }], '1').params[0]));

/** Everything in the buffer, oldest first. */
const all = (b: ReadingBuffer) => b.peek(Number.MAX_SAFE_INTEGER, BIG);

/** A small deterministic PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('reading buffer', () => {
  it('hands readings back in append order across many appends and partial acks, and after a reopen', async () => {
    const dir = freshDir();
    let buffer = await open(dir);
    const rnd = prng(6);
    const expected: number[] = []; // seqs still in the buffer, oldest first
    let g = 0;
    for (let round = 0; round < 60; round++) {
      const count = 1 + Math.floor(rnd() * 5);
      const batch = Array.from({ length: count }, () => reading(g++));
      const { ids } = await buffer.append(batch);
      expect(ids).toHaveLength(count);
      expected.push(...batch.map((r) => r.measurepoints['seq'] as number));

      if (round % 3 === 2) {
        const head = await buffer.peek(7, BIG);
        expect(head.map(seqOf)).toEqual(expected.slice(0, 7));
        // Ack a scattered subset, not a prefix: the rest must keep its order.
        const chosen = head.filter(() => rnd() < 0.5);
        expect(await buffer.ack(chosen.map((h) => h.id))).toBe(chosen.length);
        for (const c of chosen) expected.splice(expected.indexOf(seqOf(c) as number), 1);
      }
      if (round === 30) {
        await buffer.close();
        buffer = await open(dir);
      }
      expect(buffer.size()).toBe(expected.length);
    }
    expect((await all(buffer)).map(seqOf)).toEqual(expected);
    const ids = (await all(buffer)).map((b) => b.id);
    expect(new Set(ids).size).toBe(ids.length);
    await buffer.close();
  });

  it('drop-oldest makes room by dropping the oldest readings, and counts them', async () => {
    const size = wireBytes(reading(10));
    // Room for exactly ten readings of this size (seqs 10..34 all serialize to the same length).
    const buffer = await open(freshDir(), { maxBytes: size * 10, dropPolicy: 'drop-oldest' });
    let dropped = 0;
    for (let g = 10; g < 35; g++) dropped += (await buffer.append([reading(g)])).dropped;
    expect((await all(buffer)).map(seqOf)).toEqual(Array.from({ length: 10 }, (_, i) => 25 + i));
    expect(buffer.size()).toBe(10);
    expect(buffer.bytes()).toBe(size * 10);
    expect(dropped).toBe(15);
    expect(buffer.stats()).toEqual({ appended: 25, acked: 0, droppedForSize: 15, droppedForAge: 0, refused: 0 });

    // One call larger than the room keeps its own newest readings.
    const result = await buffer.append(Array.from({ length: 12 }, (_, i) => reading(40 + i)));
    expect(result.ids).toHaveLength(10);
    expect((await all(buffer)).map(seqOf)).toEqual(Array.from({ length: 10 }, (_, i) => 42 + i));
    expect((await all(buffer)).map((b) => b.id)).toEqual(result.ids);
    expect(buffer.stats()).toEqual({ appended: 37, acked: 0, droppedForSize: 27, droppedForAge: 0, refused: 0 });
    await buffer.close();
  });

  it('refuse-newest keeps the oldest readings and refuses what does not fit, and counts them', async () => {
    const size = wireBytes(reading(10));
    const buffer = await open(freshDir(), { maxBytes: size * 10, dropPolicy: 'refuse-newest' });
    for (let g = 10; g < 18; g++) await buffer.append([reading(g)]);
    // Two of these fit; the call stores a prefix and refuses the rest.
    const partial = await buffer.append([reading(18), reading(19), reading(20), reading(21)]);
    expect(partial).toMatchObject({ refused: 2, dropped: 0 });
    expect(partial.ids).toHaveLength(2);
    expect((await buffer.append([reading(22)])).refused).toBe(1);
    expect((await all(buffer)).map(seqOf)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
    expect(buffer.stats()).toEqual({ appended: 10, acked: 0, droppedForSize: 0, droppedForAge: 0, refused: 3 });

    // Once the hub has taken some, there is room again.
    const head = await buffer.peek(3, BIG);
    await buffer.ack(head.map((h) => h.id));
    expect((await buffer.append([reading(23), reading(24), reading(25), reading(26)])).refused).toBe(1);
    expect((await all(buffer)).map(seqOf)).toEqual([13, 14, 15, 16, 17, 18, 19, 23, 24, 25]);
    expect(buffer.stats()).toEqual({ appended: 13, acked: 3, droppedForSize: 0, droppedForAge: 0, refused: 4 });
    await buffer.close();
  });

  it.each<DropPolicy>(['drop-oldest', 'refuse-newest'])(
    'drops readings older than maxAgeMs under %s, and counts them',
    async (dropPolicy) => {
      let now = T0;
      const buffer = await open(freshDir(), { maxAgeMs: HOUR, dropPolicy, clock: () => now });
      await buffer.append([reading(1, T0 - 10 * 60_000), reading(2, T0 - 5 * 60_000), reading(3, T0)]);

      // 55 minutes on, the first reading is 65 minutes old: the next append drops it from the head.
      now = T0 + 55 * 60_000;
      const r = await buffer.append([reading(4, now)]);
      expect(r.dropped).toBe(1);
      expect((await all(buffer)).map(seqOf)).toEqual([2, 3, 4]);

      // A reading already too old when it arrives is counted and dropped, never stored.
      const late = await buffer.append([reading(5, now - 2 * HOUR)]);
      expect(late).toEqual({ ids: [], refused: 0, dropped: 1 });

      // Out of order: a reading behind the head expires first. peek never hands it out.
      await buffer.append([reading(6, now - HOUR + 60_000), reading(7, now)]);
      now += 2 * 60_000;
      expect((await all(buffer)).map(seqOf)).toEqual([3, 4, 7]);
      expect(buffer.stats()).toEqual({ appended: 7, acked: 0, droppedForSize: 0, droppedForAge: 4, refused: 0 });
      expect(buffer.size()).toBe(3);

      // After a long outage everything may be stale: peek drops it all and reports empty.
      now += 2 * HOUR;
      expect(await all(buffer)).toEqual([]);
      expect(buffer.size()).toBe(0);
      expect(buffer.bytes()).toBe(0);
      expect(buffer.stats().droppedForAge).toBe(7);
      await buffer.close();
    },
  );

  it.each<DropPolicy>(['drop-oldest', 'refuse-newest'])(
    'refuses a reading larger than maxReadingBytes under %s, leaving the queue alone',
    async (dropPolicy) => {
      const buffer = await open(freshDir(), { maxBytes: 4096, maxReadingBytes: 1024, dropPolicy });
      await buffer.append([reading(1), reading(2)]);
      const r = await buffer.append([reading(3, undefined, 2000), reading(4)]);
      // Only the oversized reading: the buffer is not full, so the next one gets in.
      expect(r.refused).toBe(1);
      expect(r.ids).toHaveLength(1);
      expect((await all(buffer)).map(seqOf)).toEqual([1, 2, 4]);
      expect(buffer.stats()).toMatchObject({ appended: 3, refused: 1 });
      expect(buffer.stats().droppedForSize).toBe(0);
      await buffer.close();
    },
  );

  it('peek does not remove; ack removes exactly the given ids, once, and ignores unknown ones', async () => {
    const buffer = await open(freshDir());
    await buffer.append([reading(1), reading(2), reading(3), reading(4)]);
    const first = await buffer.peek(3, BIG);
    expect(await buffer.peek(3, BIG)).toEqual(first);
    expect(buffer.size()).toBe(4);

    const [a, , c] = first;
    expect(await buffer.ack([a!.id, c!.id, a!.id])).toBe(2);
    expect(await buffer.ack([a!.id, c!.id])).toBe(0);
    expect(await buffer.ack(['', 'nope', '0', '-1', '1.5', '99999999', '9'.repeat(40)])).toBe(0);
    expect(await buffer.ack([])).toBe(0);
    expect((await all(buffer)).map(seqOf)).toEqual([2, 4]);
    expect(buffer.stats()).toMatchObject({ appended: 4, acked: 2 });
    expect(buffer.size()).toBe(2);
    expect(buffer.bytes()).toBe(wireBytes(reading(2)) + wireBytes(reading(4)));
    await buffer.close();
  });

  it('resends the same readings with the same ids after a restart before ack, and never reuses an id', async () => {
    const dir = freshDir();
    let buffer = await open(dir);
    await buffer.append([reading(1), reading(2), reading(3)]);
    const sent = await buffer.peek(10, BIG);
    await buffer.close(); // "crash" between the hub's reply and the ack

    buffer = await open(dir);
    const again = await buffer.peek(10, BIG);
    expect(again).toEqual(sent);
    await buffer.ack(again.map((b) => b.id));
    expect(buffer.size()).toBe(0);
    await buffer.close();

    buffer = await open(dir);
    const { ids } = await buffer.append([reading(4)]);
    expect(sent.map((s) => s.id)).not.toContain(ids[0]);
    expect(buffer.stats()).toEqual({ appended: 4, acked: 3, droppedForSize: 0, droppedForAge: 0, refused: 0 });
    await buffer.close();
  });

  it('rejects an invalid reading and writes nothing of that call', async () => {
    const buffer = await open(freshDir());
    const bad: [string, unknown][] = [
      ['time', { ...reading(1), time: 1.5 }],
      ['deviceKey', { ...reading(1), deviceKey: '' }],
      ['measurepoints', { ...reading(1), measurepoints: {} }],
      ['measurepoints.temp', { ...reading(1), measurepoints: { temp: Number.NaN } }],
      ['measurepoints.temp', { ...reading(1), measurepoints: { temp: undefined } }],
    ];
    for (const [field, r] of bad) {
      await expect(buffer.append([reading(0), r as Reading])).rejects.toThrow(field);
    }
    expect(buffer.size()).toBe(0);
    expect(buffer.stats().appended).toBe(0);
    await buffer.close();
  });

  it.each([4098, 5000, 20_000, 100_000])('never returns a batch over %i bytes, and fills each batch as far as it can', async (limit) => {
    const buffer = await open(freshDir(), { maxReadingBytes: 4096 });
    const rnd = prng(limit);
    await buffer.append(Array.from({ length: 300 }, (_, g) => reading(g, undefined, Math.floor(rnd() * 3900))));
    let rest = await all(buffer);
    while (rest.length > 0) {
      const batch = await buffer.peek(1000, limit);
      const params = Buffer.byteLength(JSON.stringify(toResumeBatchPayload(batch, '77').params));
      expect(params).toBeLessThanOrEqual(limit);
      expect(params).toBe(2 + batch.reduce((sum, b) => sum + b.bytes, 0) + batch.length - 1);
      // Maximal: the next reading would not have fitted.
      const next = rest[batch.length];
      if (next) expect(params + 1 + next.bytes).toBeGreaterThan(limit);
      expect(batch).toEqual(rest.slice(0, batch.length));
      await buffer.ack(batch.map((b) => b.id));
      rest = rest.slice(batch.length);
    }
    expect(buffer.size()).toBe(0);
    // A limit that could not hold the largest acceptable reading would stall the queue.
    await expect(buffer.peek(10, 4097)).rejects.toThrow(RangeError);
    await buffer.close();
  });

  it('builds the EnOS resume/batch request, with data allowed for sub-devices not logged in yet', async () => {
    const buffer = await open(freshDir());
    await buffer.append([reading(1), { productKey: 'gwPk', deviceKey: 'gwDk', time: T0, measurepoints: { temp: 21.5 } }]);
    expect(toResumeBatchPayload(await all(buffer), '123')).toEqual({
      id: '123',
      version: '1.0',
      method: 'thing.measurepoint.resume.batch',
      params: [
        { productKey: 'subPk', deviceKey: 'inv1', measurepoints: { seq: 1, power: { value: 1, quality: 9 } }, time: T0 + 1000 },
        { productKey: 'gwPk', deviceKey: 'gwDk', measurepoints: { temp: 21.5 }, time: T0 },
      ],
      allowOfflineSubDevice: true,
    });
    await buffer.close();
  });

  it('refuses to work after close', async () => {
    const buffer = await open(freshDir());
    await buffer.close();
    await expect(buffer.append([reading(1)])).rejects.toThrow(/closed/);
    await expect(buffer.peek(1, BIG)).rejects.toThrow(/closed/);
    await expect(buffer.ack(['1'])).rejects.toThrow(/closed/);
  });
});

describe('replayBuffer', () => {
  const opts = { batchMaxItems: 4, batchMaxBytes: 64 * 1024 + 2 };

  it('drains in order with one batch in flight, acking a batch only after the hub accepted it', async () => {
    const buffer = await open(freshDir());
    await buffer.append(Array.from({ length: 10 }, (_, g) => reading(g)));
    const delivered: unknown[] = [];
    let inFlight = 0;
    const result = await replayBuffer(
      buffer,
      async (batch) => {
        inFlight += 1;
        expect(inFlight).toBe(1);
        // Nothing of the batch was removed before the hub answered.
        expect(buffer.size()).toBe(10 - delivered.length);
        await new Promise<void>((resolve) => setImmediate(resolve));
        delivered.push(...batch.map(seqOf));
        inFlight -= 1;
        return 'acked';
      },
      opts,
    );
    expect(result).toEqual({ batches: 3, readings: 10, outcome: 'drained' });
    expect(delivered).toEqual(Array.from({ length: 10 }, (_, g) => g));
    expect(buffer.size()).toBe(0);
    expect(buffer.stats().acked).toBe(10);
    await buffer.close();
  });

  it('stops on retry and resumes later without loss or duplication', async () => {
    const dir = freshDir();
    let buffer = await open(dir);
    await buffer.append(Array.from({ length: 10 }, (_, g) => reading(g)));
    const accepted: BufferedReading[] = [];
    const attempts: string[][] = [];
    let hubUp = true;
    let calls = 0;
    const send = async (batch: readonly BufferedReading[]) => {
      attempts.push(batch.map((b) => b.id));
      if (++calls === 3) hubUp = false; // the uplink drops during the third batch
      if (!hubUp) return 'retry' as const;
      accepted.push(...batch);
      return 'acked' as const;
    };

    expect(await replayBuffer(buffer, send, opts)).toEqual({ batches: 2, readings: 8, outcome: 'retry' });
    expect(buffer.size()).toBe(2);
    // Readings taken meanwhile join the queue behind the backlog; the edge restarts too.
    await buffer.append([reading(10), reading(11)]);
    await buffer.close();
    buffer = await open(dir);

    hubUp = true;
    expect(await replayBuffer(buffer, send, opts)).toEqual({ batches: 1, readings: 4, outcome: 'drained' });
    expect(accepted.map(seqOf)).toEqual(Array.from({ length: 12 }, (_, g) => g));
    // The batch that was refused went out again with the same readings under the same ids.
    expect(attempts[3]!.slice(0, 2)).toEqual(attempts[2]);
    expect(buffer.stats()).toMatchObject({ appended: 12, acked: 12 });
    await buffer.close();
  });

  it('removes nothing when send rejects', async () => {
    const buffer = await open(freshDir());
    await buffer.append([reading(1), reading(2)]);
    await expect(replayBuffer(buffer, () => Promise.reject(new Error('uplink gone')), opts)).rejects.toThrow('uplink gone');
    expect(buffer.size()).toBe(2);
    // A failed replay does not leave the buffer marked as replaying.
    expect((await replayBuffer(buffer, async () => 'acked', opts)).outcome).toBe('drained');
    await buffer.close();
  });

  it('runs one replay per buffer and stops between batches when aborted', async () => {
    const buffer = await open(freshDir());
    await buffer.append(Array.from({ length: 10 }, (_, g) => reading(g)));
    const ac = new AbortController();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = replayBuffer(
      buffer,
      async () => {
        await gate;
        ac.abort();
        return 'acked';
      },
      { ...opts, signal: ac.signal },
    );
    await expect(replayBuffer(buffer, async () => 'acked', opts)).rejects.toThrow(/already running/);
    release();
    expect(await running).toEqual({ batches: 1, readings: 4, outcome: 'aborted' });
    expect(buffer.size()).toBe(6);
    await buffer.close();
  });

  it('refuses batch limits the MQTT payload limit or the largest reading would break', async () => {
    const buffer = await open(freshDir());
    const send = async () => 'acked' as const;
    await expect(replayBuffer(buffer, send, { batchMaxItems: 10, batchMaxBytes: MAX_RESUME_PARAMS_BYTES + 1 })).rejects.toThrow(RangeError);
    await expect(replayBuffer(buffer, send, { batchMaxItems: 10, batchMaxBytes: 1000 })).rejects.toThrow(RangeError);
    await expect(replayBuffer(buffer, send, { batchMaxItems: 0, batchMaxBytes: 100_000 })).rejects.toThrow(RangeError);

    // At the largest allowed batch, the whole request stays under 512 KiB.
    await buffer.append(Array.from({ length: 40 }, (_, g) => reading(g, undefined, 60_000)));
    const sizes: number[] = [];
    await replayBuffer(
      buffer,
      async (batch) => {
        sizes.push(Buffer.byteLength(JSON.stringify(toResumeBatchPayload(batch, '9'.repeat(19)))));
        return 'acked';
      },
      { batchMaxItems: 1000, batchMaxBytes: MAX_RESUME_PARAMS_BYTES },
    );
    expect(sizes.length).toBeGreaterThan(1);
    for (const s of sizes) expect(s).toBeLessThan(MAX_PAYLOAD_BYTES);
    await buffer.close();
  });
});
