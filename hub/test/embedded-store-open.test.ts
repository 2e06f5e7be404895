/**
 * Opening a collection of the embedded store: its sub-databases and its index check are one write
 * transaction (hub/src/store/embedded/store.ts, docs/BENCHMARKS.md "Start-up"). A refused open
 * must leave nothing half-made behind it, in the running store and after a reopen.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../src/store/embedded/store.js';
import { DuplicateKeyError, type CollectionSpec } from '../src/store/port.js';

interface Thing {
  id: string;
  code: string;
}

const plain: CollectionSpec = { name: 'things', key: 'id' };
const uniqueCode: CollectionSpec = { name: 'things', key: 'id', unique: [{ name: 'code', fields: ['code'] }] };

describe('embedded store: opening a collection', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'embedded-open-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a unique index the stored documents break, and keeps neither the index nor a partial build of it', async () => {
    const path = join(dir, 'store');
    const v1 = await openEmbeddedStore({ path });
    await (
      await v1.collection<Thing>(plain)
    ).insertMany([
      { id: 't1', code: 'A' },
      { id: 't2', code: 'A' },
      { id: 't3', code: 'B' },
    ]);
    await v1.close();

    const v2 = await openEmbeddedStore({ path });
    await expect(v2.collection<Thing>(uniqueCode)).rejects.toBeInstanceOf(DuplicateKeyError);
    // The refused open is not cached, and the same store still opens the collection as it was.
    const things = await v2.collection<Thing>(plain);
    expect((await things.find({ code: 'A' })).total).toBe(2);
    await things.delete('t2');
    await v2.close();

    // Reopened: the unique index is built now, from the documents as they are (the refused
    // attempt left no entry behind), and holds.
    const v3 = await openEmbeddedStore({ path });
    const unique = await v3.collection<Thing>(uniqueCode);
    await expect(unique.insert({ id: 't4', code: 'A' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await expect(unique.insert({ id: 't5', code: 'B' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await unique.insert({ id: 't6', code: 'C' });
    expect((await unique.find({ code: 'C' })).items.map((t) => t.id)).toEqual(['t6']);
    await v3.close();
  });

  it('refuses a collection reopened with another key and stays usable', async () => {
    const path = join(dir, 'store');
    const v1 = await openEmbeddedStore({ path });
    await (await v1.collection<Thing>(plain)).insert({ id: 't1', code: 'A' });
    await expect(v1.collection({ name: 'other', key: 'code' })).resolves.toBeDefined();
    await v1.close();

    const v2 = await openEmbeddedStore({ path });
    await expect(v2.collection({ name: 'things', key: 'code' })).rejects.toThrow(/keyed by id/);
    expect(await (await v2.collection<Thing>(plain)).get('t1')).toEqual({ id: 't1', code: 'A' });
    await v2.close();
  });

  it('opens many collections of a new store, each with its indexes, and finds them all after a reopen', async () => {
    const path = join(dir, 'store');
    const specs: CollectionSpec[] = Array.from({ length: 20 }, (_, i) => ({
      name: `c${i}`,
      key: 'id',
      unique: [{ name: 'code', fields: ['code'] }],
      indexes: ['kind'],
    }));
    const first = await openEmbeddedStore({ path });
    for (const spec of specs) await (await first.collection(spec)).insert({ id: `${spec.name}-1`, code: 'X', kind: spec.name });
    await first.close();

    const second = await openEmbeddedStore({ path });
    for (const spec of specs) {
      const c = await second.collection<{ id: string; code: string; kind: string }>(spec);
      expect((await c.find({ kind: spec.name })).items.map((d) => d.id)).toEqual([`${spec.name}-1`]);
      await expect(c.insert({ id: 'dup', code: 'X', kind: 'y' })).rejects.toBeInstanceOf(DuplicateKeyError);
    }
    await second.close();
  });
});
