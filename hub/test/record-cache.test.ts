import { describe, expect, it } from 'vitest';
import { RecordCache } from '../src/registry/record-cache.js';

/** The in-memory registry records of a single hub (hub/src/registry/record-cache.ts). */
describe('RecordCache', () => {
  it('answers from memory after the first read, and from the store again once dropped', async () => {
    const cache = new RecordCache<{ v: number }>(true);
    let reads = 0;
    let stored = { v: 1 };
    const load = () => {
      reads++;
      return Promise.resolve(stored);
    };
    expect(await cache.read('k', load)).toEqual({ v: 1 });
    expect(await cache.read('k', load)).toEqual({ v: 1 });
    expect(reads).toBe(1);
    stored = { v: 2 };
    cache.drop('k');
    expect(await cache.read('k', load)).toEqual({ v: 2 });
    expect(reads).toBe(2);
  });

  it('never keeps what a read fetched before a drop that happened while it was in flight', async () => {
    const cache = new RecordCache<{ v: number }>(true);
    let release!: (r: { v: number }) => void;
    const slow = cache.read('k', () => new Promise<{ v: number }>((resolve) => (release = resolve)));
    // The write lands and drops the key while the read still holds the old record.
    cache.drop('k');
    release({ v: 1 });
    expect(await slow).toEqual({ v: 1 });
    expect(await cache.read('k', () => Promise.resolve({ v: 2 }))).toEqual({ v: 2 });
  });

  it('remembers nothing that was not found, and nothing at all when off', async () => {
    const cache = new RecordCache<{ v: number }>(true);
    expect(await cache.read('k', () => Promise.resolve(undefined))).toBeUndefined();
    expect(await cache.read('k', () => Promise.resolve({ v: 3 }))).toEqual({ v: 3 });
    const off = new RecordCache<{ v: number }>(false);
    let reads = 0;
    const load = () => Promise.resolve({ v: ++reads });
    await off.read('k', load);
    expect(await off.read('k', load)).toEqual({ v: 2 });
  });
});
