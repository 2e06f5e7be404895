/**
 * The default store: one LMDB environment under the data directory, with a sub-database per
 * collection (documents keyed by id) and one per index. LMDB is copy-on-write with a single writer,
 * so a crash leaves the last committed transaction intact; we open it without overlapping sync so
 * a commit has reached the disk before a write's promise resolves.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { open, type RootDatabase } from 'lmdb';
import { splitPath, type Doc } from '../filter.js';
import { checkSpec } from '../rules.js';
import type { Collection, CollectionSpec, Store } from '../port.js';
import { EmbeddedCollection, clear, rebuildIndexes, type CollectionDbs } from './collection.js';

export interface EmbeddedStoreOptions {
  /** Directory of the LMDB environment; created if missing. */
  path: string;
}

/** What was indexed the last time a collection was opened, to rebuild indexes whose definition changed. */
interface StoredSpec {
  key: string;
  unique: { name: string; fields: string[] }[];
  indexes: string[];
}

export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<Store> {
  // The store holds device and service-account secrets: only the hub's user may enter it.
  await mkdir(options.path, { recursive: true, mode: 0o700 });
  await chmod(options.path, 0o700);
  const root: RootDatabase = open({
    path: options.path,
    // Sub-databases: one per collection plus one per index; LMDB needs the ceiling up front.
    maxDbs: 512,
    overlappingSync: false,
  });
  const meta = root.openDB<StoredSpec, string>({ name: 'meta', encoding: 'json' });
  const opened = new Map<string, Promise<Collection<object>>>();
  let closed = false;

  /**
   * Opens (on a first start: creates) a collection's sub-databases and brings its indexes in line
   * with the spec, all in one write transaction: LMDB commits, and syncs, each write transaction on
   * its own, and lmdb-js's `openDB` is one when called outside of another. A new collection is then
   * one commit and one sync, not one per sub-database and another for its spec (docs/BENCHMARKS.md,
   * "Start-up"); the sub-databases, their names and the stored spec are the same as before. An
   * existing collection whose spec did not change writes nothing. A throw (a key change, duplicates
   * under a new unique index) aborts the whole transaction.
   */
  async function openCollection(spec: CollectionSpec): Promise<Collection<object>> {
    const dbs = root.transactionSync((): CollectionDbs => {
      const opened: CollectionDbs = {
        docs: root.openDB<Doc, string>({ name: `docs:${spec.name}`, encoding: 'json' }),
        unique: (spec.unique ?? []).map((u) => ({
          name: u.name,
          fields: [...u.fields],
          db: root.openDB<string, string>({ name: `unique:${spec.name}:${u.name}`, encoding: 'string' }),
        })),
        indexes: (spec.indexes ?? []).map((path) => ({
          path,
          parts: splitPath(path),
          db: root.openDB<string, [string, string]>({ name: `index:${spec.name}:${path}`, encoding: 'string' }),
        })),
      };
      reconcile(spec, opened);
      return opened;
    });
    return new EmbeddedCollection<object>(spec, dbs);
  }

  /** Runs inside openCollection's write transaction. */
  function reconcile(spec: CollectionSpec, dbs: CollectionDbs): void {
    const before = meta.get(spec.name);
    if (before && before.key !== spec.key) {
      throw new Error(`collection ${spec.name} is keyed by ${before.key}, not ${spec.key}`);
    }
    const sameUnique = (u: { name: string; fields: string[] }) =>
      before?.unique.some((b) => b.name === u.name && b.fields.join('\0') === u.fields.join('\0')) ?? false;
    const staleUnique = new Set(dbs.unique.filter((u) => !sameUnique(u)).map((u) => u.name));
    const staleIndexes = new Set(dbs.indexes.filter((ix) => !before?.indexes.includes(ix.path)).map((ix) => ix.path));
    const droppedUnique = (before?.unique ?? []).filter((b) => !dbs.unique.some((u) => u.name === b.name));
    const droppedIndexes = (before?.indexes ?? []).filter((path) => !dbs.indexes.some((ix) => ix.path === path));
    if (before && staleUnique.size === 0 && staleIndexes.size === 0 && droppedUnique.length === 0 && droppedIndexes.length === 0) {
      return; // opened as it was last time: nothing to rebuild, nothing to record
    }
    // Indexes dropped from the spec would otherwise keep stale entries (and stale uniqueness) forever.
    for (const b of droppedUnique) clear(root.openDB({ name: `unique:${spec.name}:${b.name}`, encoding: 'string' }));
    for (const path of droppedIndexes) clear(root.openDB({ name: `index:${spec.name}:${path}`, encoding: 'string' }));
    rebuildIndexes(spec, dbs, staleUnique, staleIndexes);
    const stored: StoredSpec = {
      key: spec.key,
      unique: dbs.unique.map(({ name, fields }) => ({ name, fields })),
      indexes: dbs.indexes.map((ix) => ix.path),
    };
    meta.putSync(spec.name, stored);
  }

  return {
    kind: 'embedded',
    async collection<T extends object>(spec: CollectionSpec): Promise<Collection<T>> {
      if (closed) throw new Error('store is closed');
      checkSpec(spec);
      let collection = opened.get(spec.name);
      if (!collection) {
        collection = openCollection(spec);
        opened.set(spec.name, collection);
        // A failed open (e.g. duplicates under a new unique index) must not be cached.
        collection.catch(() => opened.delete(spec.name));
      }
      return collection as Promise<Collection<T>>;
    },
    seeLatestCommits(): void {
      // lmdb-js renews its read snapshot only on the first read after a timer turn (and after this
      // process's own commits); dropping it makes the next read take a new one.
      if (!closed) root.resetReadTxn();
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.allSettled(opened.values());
      await root.close();
    },
  };
}
