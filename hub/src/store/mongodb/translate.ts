/**
 * Translation between the port and MongoDB: the spec's key field is stored as _id (documents are
 * returned with the key field again and without _id), `$prefix` becomes an anchored, escaped regex,
 * and sorts end with _id so that paging is deterministic, as in the embedded adapter.
 * Filters and sorts are validated by filter.ts before they get here.
 */
import type { Document, Sort } from 'mongodb';
import { isPlainObject, type Doc } from '../filter.js';
import type { Filter, SortSpec } from '../port.js';

export interface MongoDoc {
  _id: string;
  [field: string]: unknown;
}

export function toMongoDoc(doc: object, key: string): MongoDoc {
  const { [key]: id, ...rest } = doc as Doc;
  return { ...rest, _id: id as string };
}

export function fromMongoDoc<T>(doc: MongoDoc, key: string): T {
  const { _id, ...rest } = doc;
  return { [key]: _id, ...rest } as T;
}

export function toMongoField(field: string, key: string): string {
  return field === key ? '_id' : field;
}

export function toMongoFilter(filter: Filter, key: string): Document {
  const out: Document = {};
  for (const [name, condition] of Object.entries(filter)) {
    if (condition === undefined) continue;
    if (name === '$and' || name === '$or') {
      out[name] = (condition as Filter[]).map((sub) => toMongoFilter(sub, key));
    } else if (isPlainObject(condition)) {
      const ops: Document = {};
      for (const [op, arg] of Object.entries(condition)) {
        if (arg === undefined) continue;
        if (op === '$prefix') ops.$regex = '^' + escapeRegex(arg as string);
        else ops[op] = arg;
      }
      // An operator object with nothing defined imposes no condition (filter.ts agrees).
      if (Object.keys(ops).length > 0) out[toMongoField(name, key)] = ops;
    } else {
      out[toMongoField(name, key)] = condition;
    }
  }
  return out;
}

/** The filter for "this document, if it also matches where". */
export function byIdWhere(id: string, where: Filter | undefined, key: string): Document {
  return where === undefined ? { _id: id } : { $and: [{ _id: id }, toMongoFilter(where, key)] };
}

export function toMongoSort(sort: readonly SortSpec[] = [], key: string): Sort {
  // Pairs, not an object: an object would move integer-like field names to the front.
  const pairs: [string, 1 | -1][] = sort.map((s) => [toMongoField(s.field, key), s.order === 'ASC' ? 1 : -1]);
  if (!pairs.some(([field]) => field === '_id')) pairs.push(['_id', 1]);
  return pairs;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
