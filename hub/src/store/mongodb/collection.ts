/**
 * One collection on MongoDB. Conditional writes are single server-side operations
 * (findOneAndUpdate / deleteOne on `_id AND where`), so MongoDB's document-level atomicity gives the
 * same compare-and-set guarantee as the embedded adapter's transactions.
 */
import { MongoBulkWriteError, MongoServerError, type Collection as MongoCollection } from 'mongodb';
import { DuplicateKeyError } from '../port.js';
import type { Collection, CollectionSpec, Filter, FindOptions, FindResult } from '../port.js';
import { compileSort, validateFilter } from '../filter.js';
import { checkDocument, checkPage, checkSet, checkUnset, isValidId } from '../rules.js';
import { byIdWhere, fromMongoDoc, toMongoDoc, toMongoFilter, toMongoSort, type MongoDoc } from './translate.js';

const DUPLICATE_KEY = 11000;

export class MongoStoreCollection<T extends object> implements Collection<T> {
  constructor(
    private readonly spec: CollectionSpec,
    private readonly coll: MongoCollection<MongoDoc>,
  ) {}

  async get(id: string): Promise<T | undefined> {
    if (!isValidId(id)) return undefined;
    return this.out(await this.coll.findOne({ _id: id }));
  }

  async findOne(filter: Filter): Promise<T | undefined> {
    const { items } = await this.find(filter, { limit: 1 });
    return items[0];
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<FindResult<T>> {
    const query = this.filter(filter);
    checkPage(options);
    compileSort(options.sort); // validation only: MongoDB sorts
    const total = this.coll.countDocuments(query);
    // limit 0 means "no limit" to MongoDB but "nothing" to the port.
    if (options.limit === 0) return { items: [], total: await total };
    const cursor = this.coll.find(query, { sort: toMongoSort(options.sort, this.spec.key), skip: options.offset ?? 0 });
    if (options.limit !== undefined) cursor.limit(options.limit);
    const [docs, count] = await Promise.all([cursor.toArray(), total]);
    return { items: docs.map((d) => fromMongoDoc<T>(d, this.spec.key)), total: count };
  }

  async count(filter: Filter): Promise<number> {
    return this.coll.countDocuments(this.filter(filter));
  }

  async insert(doc: T): Promise<void> {
    checkDocument(this.spec, doc);
    try {
      await this.coll.insertOne(toMongoDoc(doc, this.spec.key));
    } catch (err) {
      throw this.duplicate(err) ?? err;
    }
  }

  async insertMany(docs: T[]): Promise<(DuplicateKeyError | undefined)[]> {
    for (const doc of docs) checkDocument(this.spec, doc);
    const results: (DuplicateKeyError | undefined)[] = docs.map(() => undefined);
    if (docs.length === 0) return results;
    try {
      // Unordered: every document is tried even after a clash; one round trip for the batch.
      await this.coll.insertMany(
        docs.map((d) => toMongoDoc(d, this.spec.key)),
        { ordered: false },
      );
    } catch (err) {
      // Anything but per-document duplicates (a network error, a write concern not met) fails the call:
      // the caller cannot be told which documents are durable.
      if (!(err instanceof MongoBulkWriteError) || err.err !== undefined || err.result?.getWriteConcernError()) throw err;
      const writeErrors = (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) as {
        code?: number;
        errmsg?: string;
        index: number;
      }[];
      if (writeErrors.length === 0) throw err;
      for (const we of writeErrors) {
        const dup = we.code === DUPLICATE_KEY ? this.toDuplicate(we.errmsg) : undefined;
        if (!dup) throw err;
        results[we.index] = dup;
      }
    }
    return results;
  }

  async update(id: string, set: Partial<T>, where?: Filter): Promise<T | undefined> {
    const fields = checkSet(this.spec, id, set);
    return this.modify(id, where, Object.keys(fields).length > 0 ? { $set: fields } : undefined);
  }

  async unset(id: string, fields: string[], where?: Filter): Promise<T | undefined> {
    checkUnset(this.spec, fields);
    const names = Object.fromEntries(fields.map((f) => [f, '']));
    return this.modify(id, where, fields.length > 0 ? { $unset: names } : undefined);
  }

  async delete(id: string, where?: Filter): Promise<boolean> {
    if (where !== undefined) validateFilter(where);
    if (!isValidId(id)) return false;
    const { deletedCount } = await this.coll.deleteOne(byIdWhere(id, where, this.spec.key));
    return deletedCount === 1;
  }

  private async modify(id: string, where: Filter | undefined, change: object | undefined): Promise<T | undefined> {
    if (where !== undefined) validateFilter(where);
    if (!isValidId(id)) return undefined;
    const query = byIdWhere(id, where, this.spec.key);
    // MongoDB refuses an empty $set; an update that names nothing just reports the matching document.
    if (!change) return this.out(await this.coll.findOne(query));
    try {
      return this.out(await this.coll.findOneAndUpdate(query, change, { returnDocument: 'after' }));
    } catch (err) {
      throw this.duplicate(err) ?? err;
    }
  }

  private filter(filter: Filter) {
    validateFilter(filter);
    return toMongoFilter(filter, this.spec.key);
  }

  private out(doc: MongoDoc | null): T | undefined {
    return doc === null ? undefined : fromMongoDoc<T>(doc, this.spec.key);
  }

  private duplicate(err: unknown): DuplicateKeyError | undefined {
    if (!(err instanceof MongoServerError) || err.code !== DUPLICATE_KEY) return undefined;
    return this.toDuplicate(err.errmsg ?? err.message);
  }

  /** Maps MongoDB's index name (in "E11000 … index: <name> dup key …") back to the port's name. */
  private toDuplicate(message: string | undefined): DuplicateKeyError {
    return new DuplicateKeyError(this.spec.name, portIndexName(this.spec, message));
  }
}

export function portIndexName(spec: CollectionSpec, message: string | undefined): string {
  const name = /index: (\S+) dup key/.exec(message ?? '')?.[1];
  if (name === undefined || name === '_id_') return spec.key;
  return name;
}
