/**
 * Write-side rules shared by every adapter: what a document, an update, a page and a collection spec
 * must look like. Both adapters refuse the same bad input with the same InvalidQueryError.
 */
import { InvalidQueryError, isPlainObject, splitPath, type Doc } from './filter.js';
import type { CollectionSpec, FindOptions } from './port.js';

/** Throws unless offset and limit are absent or non-negative integers. */
export function checkPage(options: FindOptions): void {
  for (const name of ['offset', 'limit'] as const) {
    const v = options[name];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
      throw new InvalidQueryError(`${name} must be a non-negative integer`);
    }
  }
}

// --- Write rules, shared so that both adapters refuse the same bad writes. ---

/**
 * Ids are short identifiers: the embedded adapter uses them as LMDB keys (at most 1978 bytes, no
 * NUL), and MongoDB stores them as _id.
 */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && id !== '' && id.length <= 512 && !id.includes('\0');
}

/** Checks a document for insert and returns its id. */
export function checkDocument(spec: CollectionSpec, doc: object): string {
  if (!isPlainObject(doc)) throw new InvalidQueryError(`${spec.name}: a document must be a plain object`);
  const id = doc[spec.key];
  if (!isValidId(id)) {
    throw new InvalidQueryError(`${spec.name}: ${spec.key} must be a non-empty string of at most 512 characters`);
  }
  // The MongoDB adapter stores the key as _id, so a document may not carry its own.
  if (spec.key !== '_id' && '_id' in doc) throw new InvalidQueryError(`${spec.name}: field _id is reserved`);
  return id;
}

/** Checks the fields of an update and returns them without `undefined` values ("not named"). */
export function checkSet(spec: CollectionSpec, id: string, set: object): Doc {
  if (!isPlainObject(set)) throw new InvalidQueryError(`${spec.name}: update needs a plain object`);
  const out: Doc = {};
  for (const [field, value] of Object.entries(set)) {
    if (value === undefined) continue;
    checkTopLevelField(spec, field);
    if (field === spec.key && value !== id) throw new InvalidQueryError(`${spec.name}: ${spec.key} cannot change`);
    if (field !== spec.key) out[field] = value;
  }
  return out;
}

export function checkUnset(spec: CollectionSpec, fields: string[]): void {
  if (!Array.isArray(fields)) throw new InvalidQueryError(`${spec.name}: unset needs an array of field names`);
  for (const field of fields) {
    checkTopLevelField(spec, field);
    if (field === spec.key) throw new InvalidQueryError(`${spec.name}: ${spec.key} cannot be unset`);
  }
}

// MongoDB would read a dotted name in $set/$unset as a path; the port only sets top-level fields.
function checkTopLevelField(spec: CollectionSpec, field: string): void {
  if (
    typeof field !== 'string' ||
    field === '' ||
    field.includes('.') ||
    field.startsWith('$') ||
    (field === '_id' && spec.key !== '_id')
  ) {
    throw new InvalidQueryError(`${spec.name}: cannot set field "${String(field)}"`);
  }
}

/** Checks a collection spec once, when the collection is opened. */
export function checkSpec(spec: CollectionSpec): void {
  const bad = (what: string) => new InvalidQueryError(`collection spec ${String(spec?.name)}: ${what}`);
  if (!isPlainObject(spec) || typeof spec.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(spec.name)) {
    throw bad('name must be 1-64 letters, digits, _ or -');
  }
  if (typeof spec.key !== 'string' || spec.key === '' || spec.key.includes('.') || spec.key.startsWith('$')) {
    throw bad('key must be a top-level field name');
  }
  const names = new Set<string>();
  for (const u of spec.unique ?? []) {
    // Plain names: the MongoDB adapter reads them back out of E11000 messages.
    if (typeof u.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(u.name) || u.name === '_id_' || names.has(u.name)) {
      throw bad(`unique index names must be distinct, 1-64 letters, digits, _ or - (${String(u.name)})`);
    }
    names.add(u.name);
    if (!Array.isArray(u.fields) || u.fields.length === 0) throw bad(`unique index ${u.name} needs fields`);
    for (const f of u.fields) {
      if (typeof f !== 'string' || f === '' || f.includes('.') || f.startsWith('$')) {
        throw bad(`unique index ${u.name}: fields must be top-level field names`);
      }
    }
  }
  for (const path of spec.indexes ?? []) splitPath(path);
}
