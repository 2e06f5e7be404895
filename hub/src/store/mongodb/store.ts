/**
 * The MongoDB store, for deployments that already run MongoDB. Writes use majority, journaled write
 * concern, so a resolved write survives a primary failover or a crash, as with the embedded store.
 */
import { MongoClient, MongoServerError, type Collection as MongoCollection, type Document, type IndexDescription } from 'mongodb';
import { checkSpec } from '../rules.js';
import { DuplicateKeyError } from '../port.js';
import type { Collection, CollectionSpec, Store } from '../port.js';
import { MongoStoreCollection } from './collection.js';
import { toMongoField, type MongoDoc } from './translate.js';

export interface MongoStoreOptions {
  url: string;
  /** Defaults to the database named in the URL, else 'edgehub'. */
  dbName?: string;
}

export async function openMongoStore(options: MongoStoreOptions): Promise<Store> {
  const client = new MongoClient(options.url, {
    // Documents are plain JSON: an undefined field is absent, as in the embedded store (not null).
    ignoreUndefined: true,
    writeConcern: { w: 'majority', journal: true },
  });
  await client.connect();
  const db = client.db(options.dbName ?? dbNameFromUrl(options.url) ?? 'edgehub');
  const opened = new Map<string, Promise<Collection<object>>>();

  async function openCollection(spec: CollectionSpec): Promise<Collection<object>> {
    const coll = db.collection<MongoDoc>(spec.name);
    await syncIndexes(coll, spec);
    return new MongoStoreCollection<object>(spec, coll);
  }

  return {
    kind: 'mongodb',
    async collection<T extends object>(spec: CollectionSpec): Promise<Collection<T>> {
      checkSpec(spec);
      let collection = opened.get(spec.name);
      if (!collection) {
        collection = openCollection(spec);
        opened.set(spec.name, collection);
        collection.catch(() => opened.delete(spec.name));
      }
      return collection as Promise<Collection<T>>;
    },
    async close(): Promise<void> {
      await client.close();
    },
  };
}

/**
 * Makes the collection's indexes match the spec: missing ones are created; changed ones, undeclared
 * unique ones (they would keep refusing writes the spec allows) and our own undeclared `idx_` ones
 * are dropped. Other indexes an operator added by hand are left alone.
 */
async function syncIndexes(coll: MongoCollection<MongoDoc>, spec: CollectionSpec): Promise<void> {
  const wanted = declaredIndexes(spec);
  const existing = await coll
    .listIndexes()
    .toArray()
    .catch((err: unknown) => {
      if (err instanceof MongoServerError && err.codeName === 'NamespaceNotFound') return [] as Document[];
      throw err;
    });
  const kept = new Set<string>();
  for (const index of existing as IndexInfo[]) {
    const name = String(index.name);
    if (name === '_id_') continue;
    const want = wanted.find((w) => w.name === name);
    if (want && sameIndex(index, want)) kept.add(name);
    else if (want || index.unique || name.startsWith('idx_')) await coll.dropIndex(name);
  }
  for (const want of wanted) {
    if (kept.has(want.name!)) continue;
    try {
      await coll.createIndexes([want]);
    } catch (err) {
      // Existing documents already violate a new unique index.
      if (err instanceof MongoServerError && err.code === 11000) throw new DuplicateKeyError(spec.name, want.name!);
      throw err;
    }
  }
}

function declaredIndexes(spec: CollectionSpec): IndexDescription[] {
  const out: IndexDescription[] = [];
  for (const u of spec.unique ?? []) {
    // _id is unique already, and MongoDB refuses unique options on an _id-only index.
    if (u.fields.length === 1 && u.fields[0] === spec.key) continue;
    out.push({
      name: u.name,
      key: Object.fromEntries(u.fields.map((f) => [toMongoField(f, spec.key), 1])),
      unique: true,
      // A document missing any of the fields is not indexed (the port's rule); null still counts as a value.
      partialFilterExpression: Object.fromEntries(u.fields.map((f) => [toMongoField(f, spec.key), { $exists: true }])),
    });
  }
  for (const path of spec.indexes ?? []) {
    if (path === spec.key) continue;
    out.push({ name: `idx_${path}`, key: { [path]: 1 } });
  }
  return out;
}

/** What listIndexes reports of an index (the fields compared here). */
type IndexInfo = Document & { name?: string; unique?: boolean };

function sameIndex(existing: Document, want: IndexDescription): boolean {
  const json = (v: unknown) => JSON.stringify(v ?? null);
  return (
    json(existing.key) === json(want.key) &&
    Boolean(existing.unique) === Boolean(want.unique) &&
    json(existing.partialFilterExpression) === json(want.partialFilterExpression)
  );
}

/** The database in mongodb://host/<db>?…, if any. */
function dbNameFromUrl(url: string): string | undefined {
  const name = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(url)?.[1];
  return name ? decodeURIComponent(name) : undefined;
}
