import type { Collection, CollectionSpec, DuplicateKeyError, Filter, FindOptions, FindResult } from '../store/port.js';
import { deepFreeze } from './deep-freeze.js';
import { RecordCache } from './record-cache.js';

/**
 * A collection whose reads by primary key are answered from memory (record-cache.ts), for a hub that
 * is the store's single writer. Every write goes through this object, and each drops the records it
 * touched once it has settled, committed or not, so the next read sees the store again; queries
 * (`find`, `findOne`, `count`) always read the store.
 *
 * Records handed out from memory are shared by every caller, so they are frozen, nested objects
 * included: a caller that modified one would change what the next caller reads, and in a module
 * (strict mode) the attempt throws instead.
 */
export class CachedCollection<T extends object> implements Collection<T> {
  private readonly cache: RecordCache<T>;

  constructor(
    private readonly inner: Collection<T>,
    private readonly spec: CollectionSpec,
    limit: number,
  ) {
    this.cache = new RecordCache<T>(true, limit);
  }

  get(id: string): Promise<T | undefined> {
    const held = this.cache.peek(id);
    if (held !== undefined) return Promise.resolve(held);
    return this.cache.read(id, async () => {
      const doc = await this.inner.get(id);
      return doc && deepFreeze(doc);
    });
  }

  findOne(filter: Filter): Promise<T | undefined> {
    return this.inner.findOne(filter);
  }

  find(filter: Filter, options?: FindOptions): Promise<FindResult<T>> {
    return this.inner.find(filter, options);
  }

  count(filter: Filter): Promise<number> {
    return this.inner.count(filter);
  }

  insert(doc: T): Promise<void> {
    return this.inner.insert(doc).finally(() => this.cache.drop(this.keyOf(doc)));
  }

  insertMany(docs: T[]): Promise<(DuplicateKeyError | undefined)[]> {
    return this.inner.insertMany(docs).finally(() => {
      for (const doc of docs) this.cache.drop(this.keyOf(doc));
    });
  }

  update(id: string, set: Partial<T>, where?: Filter): Promise<T | undefined> {
    return this.inner.update(id, set, where).finally(() => this.cache.drop(id));
  }

  unset(id: string, fields: string[], where?: Filter): Promise<T | undefined> {
    return this.inner.unset(id, fields, where).finally(() => this.cache.drop(id));
  }

  delete(id: string, where?: Filter): Promise<boolean> {
    return this.inner.delete(id, where).finally(() => this.cache.drop(id));
  }

  private keyOf(doc: T): string {
    return String((doc as Record<string, unknown>)[this.spec.key]);
  }
}
