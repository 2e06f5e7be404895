/**
 * Picks the documents a query must look at: by primary key, then by a unique index, then by a
 * non-unique index when the top level of the filter pins an indexed field to non-null scalars
 * (equality or $in); otherwise every document. The caller still applies the whole filter, so an
 * index only has to return a superset of the matches.
 */
import type { Database } from 'lmdb';
import { isPlainObject, type Doc } from '../filter.js';
import { isValidId } from '../rules.js';
import type { CollectionSpec, Filter } from '../port.js';
import type { CollectionDbs } from './collection.js';
import { indexLookupToken, uniqueLookupKey } from './keys.js';

type Indexable = string | number | boolean;

// Sorts after every [token, id] key that starts with token (0xff never occurs in encoded strings).
const AFTER_ALL = Buffer.from([0xff]);

export function* planCandidates(spec: CollectionSpec, dbs: CollectionDbs, filter: Filter): Iterable<Doc> {
  const ids = candidateIds(spec, dbs, filter);
  if (ids === undefined) {
    for (const { value } of dbs.docs.getRange()) yield value;
    return;
  }
  for (const id of ids) {
    const doc = dbs.docs.get(id);
    if (doc !== undefined) yield doc;
  }
}

/** The ids of the documents a query must look at, or undefined when it must scan them all. */
export function candidateIds(spec: CollectionSpec, dbs: CollectionDbs, filter: Filter): Set<string> | undefined {
  const keys = pinned(filter[spec.key]);
  if (keys) return new Set(keys.filter(isValidId));

  for (const u of dbs.unique) {
    const [only] = u.fields;
    if (u.fields.length === 1 && only !== undefined) {
      const values = pinned(filter[only]);
      if (values)
        return owners(
          u.db,
          values.map((v) => uniqueLookupKey([v])),
        );
      continue;
    }
    // A compound index answers only an equality on every one of its fields.
    const values = u.fields.map((f) => filter[f]);
    if (values.every(isIndexable)) return owners(u.db, [uniqueLookupKey(values)]);
  }

  for (const ix of dbs.indexes) {
    const values = pinned(filter[ix.path]);
    if (!values) continue;
    const ids = new Set<string>();
    for (const v of values) {
      const t = indexLookupToken(v);
      for (const { value } of ix.db.getRange({ start: [t], end: [t, AFTER_ALL] })) ids.add(value);
    }
    return ids;
  }
  return undefined;
}

function owners(db: Database<string, string>, keys: string[]): Set<string> {
  const ids = new Set<string>();
  for (const key of keys) {
    const id = db.get(key);
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

/** The values an equality or $in pins the field to, or undefined when an index cannot answer it (null also matches missing fields). */
function pinned(condition: unknown): Indexable[] | undefined {
  if (isIndexable(condition)) return [condition];
  if (isPlainObject(condition) && Array.isArray(condition.$in) && condition.$in.every(isIndexable)) {
    return condition.$in;
  }
  return undefined;
}

function isIndexable(v: unknown): v is Indexable {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}
