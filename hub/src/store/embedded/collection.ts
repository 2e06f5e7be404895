/**
 * One collection of the embedded store. Every check-and-write (duplicate keys, `where` conditions)
 * runs inside one LMDB write transaction, so two concurrent callers can never both win; the
 * transaction is a child transaction so an unexpected throw rolls back everything it wrote. Write
 * promises resolve after LMDB has committed and synced (the environment is opened without
 * overlapping sync).
 */
import type { Database } from 'lmdb';
import { DuplicateKeyError } from '../port.js';
import type { Collection, CollectionSpec, Filter, FindOptions, FindResult } from '../port.js';
import { compareStrings, compileFilter, compileSort, type Doc, type Predicate } from '../filter.js';
import { checkDocument, checkPage, checkSet, checkUnset, isValidId } from '../rules.js';
import { indexTokens, uniqueKeys } from './keys.js';
import { candidateIds, planCandidates } from './plan.js';

/** The sub-databases of one collection, opened by the store. */
export interface CollectionDbs {
  docs: Database<Doc, string>;
  /** Per unique index: key (see keys.ts) → id. */
  unique: { name: string; fields: string[]; db: Database<string, string> }[];
  /** Per non-unique index: [token, id] → id. */
  indexes: { path: string; parts: string[]; db: Database<string, [string, string]> }[];
}

export class EmbeddedCollection<T extends object> implements Collection<T> {
  constructor(
    private readonly spec: CollectionSpec,
    private readonly dbs: CollectionDbs,
  ) {}

  async get(id: string): Promise<T | undefined> {
    return isValidId(id) ? (this.dbs.docs.get(id) as T | undefined) : undefined;
  }

  async findOne(filter: Filter): Promise<T | undefined> {
    const matches = compileFilter(filter);
    // Answered by the primary key or a unique index (a device by its triple on every CONNECT): at
    // most one candidate, so no sort and no count (docs/BENCHMARKS.md, "CONNECT and device GET").
    const ids = candidateIds(this.spec, this.dbs, filter);
    if (ids !== undefined && ids.size <= 1) {
      for (const id of ids) {
        const doc = this.dbs.docs.get(id);
        if (doc !== undefined && matches(doc)) return doc as T;
      }
      return undefined;
    }
    const { items } = await this.find(filter, { limit: 1 });
    return items[0];
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<FindResult<T>> {
    const matches = compileFilter(filter);
    checkPage(options);
    const bySort = compileSort(options.sort);
    const key = this.spec.key;
    // The key breaks ties so that paging is deterministic (the MongoDB adapter does the same with _id).
    const order = (a: Doc, b: Doc) => bySort(a, b) || compareStrings(a[key] as string, b[key] as string);
    const all = this.matching(filter, matches).sort(order);
    const start = options.offset ?? 0;
    const end = options.limit === undefined ? undefined : start + options.limit;
    return { items: all.slice(start, end) as T[], total: all.length };
  }

  async count(filter: Filter): Promise<number> {
    return this.matching(filter, compileFilter(filter)).length;
  }

  async insert(doc: T): Promise<void> {
    const id = checkDocument(this.spec, doc);
    const clash = await this.write(() => this.insertOne(id, doc as Doc));
    if (clash) throw clash;
  }

  async insertMany(docs: T[]): Promise<(DuplicateKeyError | undefined)[]> {
    // Check every document first: a malformed one is a programming error, not a per-document result.
    const ids = docs.map((doc) => checkDocument(this.spec, doc));
    if (docs.length === 0) return [];
    // One transaction for the batch (one disk sync); each document still succeeds or clashes on its own,
    // and sees the documents before it in the batch.
    return this.write(() => docs.map((doc, i) => this.insertOne(ids[i]!, doc as Doc)));
  }

  async update(id: string, set: Partial<T>, where?: Filter): Promise<T | undefined> {
    const fields = checkSet(this.spec, id, set);
    return this.change(id, where, (current) => ({ ...current, ...fields }));
  }

  async unset(id: string, fields: string[], where?: Filter): Promise<T | undefined> {
    checkUnset(this.spec, fields);
    return this.change(id, where, (current) => {
      const next = { ...current };
      for (const f of fields) delete next[f];
      return next;
    });
  }

  async delete(id: string, where?: Filter): Promise<boolean> {
    const matches = where === undefined ? undefined : compileFilter(where);
    if (!isValidId(id)) return false;
    return this.write(() => {
      const current = this.dbs.docs.get(id);
      if (current === undefined || (matches && !matches(current))) return false;
      this.reindex(id, current, undefined);
      this.dbs.docs.removeSync(id);
      return true;
    });
  }

  private async change(id: string, where: Filter | undefined, next: (current: Doc) => Doc): Promise<T | undefined> {
    const matches = where === undefined ? undefined : predicateOf(where);
    if (!isValidId(id)) return undefined;
    const result = await this.write(() => {
      const current = this.dbs.docs.get(id);
      if (current === undefined || (matches && !matches(current))) return undefined;
      const updated = next(current);
      const clash = this.clash(id, updated, current);
      if (clash) return clash;
      this.reindex(id, current, updated);
      this.dbs.docs.putSync(id, updated);
      return updated;
    });
    if (result instanceof DuplicateKeyError) throw result;
    return result as T | undefined;
  }

  /** Runs inside a write transaction. Returns the clash instead of throwing, so nothing is half-written. */
  private insertOne(id: string, doc: Doc): DuplicateKeyError | undefined {
    if (this.dbs.docs.doesExist(id)) return new DuplicateKeyError(this.spec.name, this.spec.key);
    const clash = this.clash(id, doc);
    if (clash) return clash;
    this.reindex(id, undefined, doc);
    this.dbs.docs.putSync(id, doc);
    return undefined;
  }

  /**
   * The first unique index on which another document already holds one of doc's keys. An update
   * that leaves an index's fields as they were (`before`) cannot clash there: this document owns
   * those keys already.
   */
  private clash(id: string, doc: Doc, before?: Doc): DuplicateKeyError | undefined {
    for (const u of this.dbs.unique) {
      if (before && unchanged(before, doc, u.fields)) continue;
      for (const key of uniqueKeys(doc, u.fields)) {
        const owner = u.db.get(key);
        if (owner !== undefined && owner !== id) return new DuplicateKeyError(this.spec.name, u.name);
      }
    }
    return undefined;
  }

  /**
   * Moves index entries from `before` to `after` (either may be absent). Runs inside a write
   * transaction. Indexes over fields the write left as they were are skipped: an update copies the
   * document and sets only the named fields, so an untouched field keeps its very value (`===`).
   */
  private reindex(id: string, before: Doc | undefined, after: Doc | undefined): void {
    for (const u of this.dbs.unique) {
      if (before && after && unchanged(before, after, u.fields)) continue;
      const old = before ? uniqueKeys(before, u.fields) : [];
      const now = after ? uniqueKeys(after, u.fields) : [];
      for (const key of old) if (!now.includes(key)) u.db.removeSync(key);
      for (const key of now) if (!old.includes(key)) u.db.putSync(key, id);
    }
    for (const ix of this.dbs.indexes) {
      if (before && after && before[ix.parts[0]!] === after[ix.parts[0]!]) continue;
      const old = before ? indexTokens(before, ix.parts) : [];
      const now = after ? indexTokens(after, ix.parts) : [];
      for (const t of old) if (!now.includes(t)) ix.db.removeSync([t, id]);
      for (const t of now) if (!old.includes(t)) ix.db.putSync([t, id], id);
    }
  }

  private matching(filter: Filter, matches: Predicate): Doc[] {
    const out: Doc[] = [];
    for (const doc of planCandidates(this.spec, this.dbs, filter)) if (matches(doc)) out.push(doc);
    return out;
  }

  private write<R>(action: () => R): Promise<R> {
    return this.dbs.docs.childTransaction(action);
  }
}

/** Predicates of frozen `where` filters, compiled once (a frozen filter cannot change under its predicate). */
const compiledWhere = new WeakMap<Filter, Predicate>();

/**
 * The predicate of a write's condition. A caller that repeats one condition on every write (the
 * device status writes of every CONNECT and DISCONNECT) freezes it, deeply, and it is compiled once.
 */
function predicateOf(where: Filter): Predicate {
  if (!Object.isFrozen(where)) return compileFilter(where);
  let p = compiledWhere.get(where);
  if (!p) {
    p = compileFilter(where);
    compiledWhere.set(where, p);
  }
  return p;
}

/** Whether each of these top-level fields holds the very same value in both documents. */
function unchanged(before: Doc, after: Doc, fields: readonly string[]): boolean {
  for (const f of fields) if (before[f] !== after[f]) return false;
  return true;
}

/**
 * Rebuilds the named indexes from the documents, inside the caller's write transaction. Throws
 * DuplicateKeyError if existing documents violate a new unique index (the transaction then aborts).
 */
export function rebuildIndexes(spec: CollectionSpec, dbs: CollectionDbs, unique: Set<string>, indexes: Set<string>): void {
  const uniques = dbs.unique.filter((u) => unique.has(u.name));
  const plain = dbs.indexes.filter((ix) => indexes.has(ix.path));
  if (uniques.length === 0 && plain.length === 0) return;
  for (const { db } of [...uniques, ...plain]) clear(db);
  for (const { key: id, value: doc } of dbs.docs.getRange()) {
    for (const u of uniques) {
      for (const key of uniqueKeys(doc, u.fields)) {
        const owner = u.db.get(key);
        if (owner !== undefined && owner !== id) throw new DuplicateKeyError(spec.name, u.name);
        u.db.putSync(key, id);
      }
    }
    for (const ix of plain) for (const t of indexTokens(doc, ix.parts)) ix.db.putSync([t, id], id);
  }
}

/** Empties a sub-database inside the current write transaction (keys are collected first: no cursor over a changing tree). */
export function clear(db: Database<string, string | [string, string]>): void {
  for (const key of [...db.getKeys()]) db.removeSync(key);
}
