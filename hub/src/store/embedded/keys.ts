/**
 * Index keys for the embedded adapter. A value becomes its JSON text, so 1, "1", true and null
 * never collide and NUL characters are escaped (lmdb-js keys cannot hold NUL). Long texts become a
 * SHA-256 digest to stay under LMDB's 1978-byte key limit: lookups re-check the documents, and a
 * digest collision on a unique index is beyond practical concern.
 */
import { createHash } from 'node:crypto';
import { valuesAt, type Doc } from '../filter.js';
import type { Scalar } from '../port.js';

const MAX_TEXT = 400; // chars: ≤ 1600 UTF-8 bytes, leaving room for the id in a non-unique key

function token(values: unknown): string {
  const text = JSON.stringify(values);
  return text.length > MAX_TEXT ? '#' + createHash('sha256').update(text).digest('base64') : text;
}

/**
 * Keys of a unique index over top-level fields. A document missing any field is not indexed.
 * An array is indexed per element (MongoDB multikey semantics), so two documents clash when they
 * share an element, and equality lookups find documents whose array contains the value.
 */
export function uniqueKeys(doc: Doc, fields: readonly string[]): string[] {
  let combos: unknown[][] = [[]];
  for (const field of fields) {
    const value = doc[field];
    if (value === undefined) return [];
    const elements: unknown[] = Array.isArray(value) && value.length > 0 ? value : [value];
    combos = combos.flatMap((combo) => elements.map((el) => [...combo, el]));
  }
  return [...new Set(combos.map(token))];
}

/** The unique-index key an equality lookup on these values reads. */
export function uniqueLookupKey(values: readonly Scalar[]): string {
  return token(values);
}

/**
 * Values of a non-unique index on a (possibly dotted) path: every scalar an equality filter could
 * match there, i.e. exactly the values for which filter.ts's equality holds. null is left out
 * because `{ f: null }` also matches missing fields, so the planner never answers it from an index.
 */
export function indexTokens(doc: Doc, parts: readonly string[]): string[] {
  const out = new Set<string>();
  for (const value of valuesAt(doc, parts)) {
    for (const el of Array.isArray(value) ? value : [value]) {
      if (typeof el === 'string' || typeof el === 'number' || typeof el === 'boolean') out.add(token(el));
    }
  }
  return [...out];
}

export function indexLookupToken(value: string | number | boolean): string {
  return token(value);
}
