/**
 * The port's query semantics, evaluated in memory. The embedded adapter filters and sorts with
 * this; both adapters validate with it, so they refuse the same bad input with the same error.
 *
 * Semantics follow MongoDB's for the subset declared in port.ts, because the MongoDB adapter passes
 * filters through and the contract suite demands identical answers:
 *  - a dotted path reaches into nested objects and through arrays of objects;
 *  - equality against an array value matches when the array contains the value;
 *  - `{ f: null }` (and `$in: [null]`) also matches documents where f is missing; `$ne` is its negation;
 *  - ranges and `$prefix` compare only values of the same type (numbers with numbers, strings with
 *    strings), and match when any element of an array does;
 *  - strings order by code point (MongoDB's binary UTF-8 order), and in a sort a missing value
 *    counts as null, which sorts before numbers, strings and booleans.
 */
import type { Filter, Scalar, SortSpec } from './port.js';

/** Thrown for a filter, sort, page or write the port does not support (a programming error). */
export class InvalidQueryError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidQueryError';
  }
}

export type Doc = Record<string, unknown>;
export type Predicate = (doc: Doc) => boolean;

const OPERATORS = ['$in', '$ne', '$exists', '$gt', '$gte', '$lt', '$lte', '$prefix'] as const;
type Operator = (typeof OPERATORS)[number];
const isOperator = (name: string): name is Operator => (OPERATORS as readonly string[]).includes(name);

/** Validates the filter and turns it into a predicate; throws InvalidQueryError on anything unsupported. */
export function compileFilter(filter: Filter): Predicate {
  if (!isPlainObject(filter)) throw new InvalidQueryError('a filter must be a plain object');
  const parts: Predicate[] = [];
  for (const [name, condition] of Object.entries(filter)) {
    // `undefined` means "no condition", so callers can write { status: opts.status }.
    if (condition === undefined) continue;
    if (name === '$and' || name === '$or') {
      if (!Array.isArray(condition) || condition.length === 0) {
        throw new InvalidQueryError(`${name} needs a non-empty array of filters`);
      }
      const subs = condition.map((sub) => compileFilter(sub));
      parts.push(name === '$and' ? (d) => subs.every((p) => p(d)) : (d) => subs.some((p) => p(d)));
    } else if (name.startsWith('$')) {
      throw new InvalidQueryError(`unknown filter operator ${name} (supported at the top level: $and, $or)`);
    } else {
      parts.push(compileCondition(name, condition));
    }
  }
  if (parts.length === 1) return parts[0]!;
  return (d) => parts.every((p) => p(d));
}

/** Throws InvalidQueryError unless the filter is in the port's subset. */
export function validateFilter(filter: Filter): void {
  compileFilter(filter);
}

function compileCondition(path: string, condition: unknown): Predicate {
  const parts = splitPath(path);
  if (isScalar(condition)) return (d) => equalsAny(valuesAt(d, parts), condition);
  if (Array.isArray(condition)) {
    throw new InvalidQueryError(`equality against an array is not supported (field ${path}); use $in`);
  }
  if (!isPlainObject(condition)) throw new InvalidQueryError(`unsupported condition on field ${path}`);
  const tests: ((values: unknown[]) => boolean)[] = [];
  for (const [op, arg] of Object.entries(condition)) {
    if (arg === undefined) continue;
    if (!isOperator(op)) {
      throw new InvalidQueryError(`unknown filter operator ${op} on field ${path} (supported: ${OPERATORS.join(', ')})`);
    }
    tests.push(compileOperator(path, op, arg));
  }
  // Each operator may be satisfied by a different array element, as in MongoDB without $elemMatch.
  return (d) => {
    const values = valuesAt(d, parts);
    return tests.every((t) => t(values));
  };
}

function compileOperator(path: string, op: Operator, arg: unknown): (values: unknown[]) => boolean {
  const bad = (what: string) => new InvalidQueryError(`${op} on field ${path} needs ${what}`);
  switch (op) {
    case '$in': {
      if (!Array.isArray(arg) || !arg.every(isScalar)) throw bad('an array of scalars');
      return (values) => arg.some((v) => equalsAny(values, v));
    }
    case '$ne':
      if (!isScalar(arg)) throw bad('a scalar');
      return (values) => !equalsAny(values, arg);
    case '$exists':
      if (typeof arg !== 'boolean') throw bad('a boolean');
      return (values) => values.some((v) => v !== undefined) === arg;
    case '$prefix': {
      if (typeof arg !== 'string') throw bad('a string');
      return (values) => someElement(values, (v) => typeof v === 'string' && v.startsWith(arg));
    }
    default: {
      if (!(typeof arg === 'string' || (typeof arg === 'number' && Number.isFinite(arg)))) {
        throw bad('a number or a string');
      }
      const accept = RANGE[op];
      return (values) => someElement(values, (v) => typeof v === typeof arg && accept(compareValues(v, arg)));
    }
  }
}

const RANGE: Record<'$gt' | '$gte' | '$lt' | '$lte', (c: number) => boolean> = {
  $gt: (c) => c > 0,
  $gte: (c) => c >= 0,
  $lt: (c) => c < 0,
  $lte: (c) => c <= 0,
};

function equalsAny(values: unknown[], wanted: Scalar): boolean {
  return values.some((v) => {
    if (v === wanted) return true;
    if (wanted === null && v === undefined) return true;
    return Array.isArray(v) && v.includes(wanted);
  });
}

function someElement(values: unknown[], test: (v: unknown) => boolean): boolean {
  return values.some((v) => (Array.isArray(v) ? v.some(test) : test(v)));
}

/** Splits and checks a dotted path once, so evaluation does not repeat the work per document. */
export function splitPath(path: string): string[] {
  const parts = path.split('.');
  if (parts.some((p) => p === '' || p.startsWith('$'))) {
    throw new InvalidQueryError(`invalid field path "${path}"`);
  }
  return parts;
}

/**
 * The values a dotted path reaches in a document: more than one when it passes through an array
 * of objects; `undefined` stands for "missing". Leaf arrays are returned whole.
 */
export function valuesAt(doc: Doc, parts: readonly string[]): unknown[] {
  const out: unknown[] = [];
  collect(doc, parts, 0, out);
  return out.length === 0 ? [undefined] : out;
}

function collect(value: unknown, parts: readonly string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    out.push(value);
    return;
  }
  const part = parts[i]!;
  if (Array.isArray(value)) {
    // A numeric segment addresses an element (a.0.b); otherwise the path applies to each object element.
    if (/^\d+$/.test(part)) collect(value[Number(part)], parts, i + 1, out);
    for (const el of value) if (isPlainObject(el)) collect(el, parts, i, out);
    return;
  }
  if (isPlainObject(value)) {
    collect(value[part], parts, i + 1, out);
    return;
  }
  out.push(undefined);
}

/** Validates the sort and returns a comparator; the caller appends its key as the last tie-breaker. */
export function compileSort(sort: readonly SortSpec[] = []): (a: Doc, b: Doc) => number {
  if (!Array.isArray(sort)) throw new InvalidQueryError('sort must be an array of { field, order }');
  const seen = new Set<string>();
  const keys = sort.map((spec): { parts: string[]; sign: number; order: SortSpec['order'] } => {
    // Checked as untrusted input: a sort arrives from REST bodies.
    const { field, order } = spec as { field: unknown; order: unknown };
    if (typeof field !== 'string') throw new InvalidQueryError('sort field must be a string');
    if (order !== 'ASC' && order !== 'DESC') throw new InvalidQueryError(`sort order must be ASC or DESC (field ${field})`);
    if (seen.has(field)) throw new InvalidQueryError(`sort names field ${field} twice`);
    seen.add(field);
    return { parts: splitPath(field), sign: order === 'ASC' ? 1 : -1, order };
  });
  return (a, b) => {
    for (const k of keys) {
      const c = compareValues(sortValue(a, k.parts, k.order), sortValue(b, k.parts, k.order));
      if (c !== 0) return c * k.sign;
    }
    return 0;
  };
}

/**
 * Like MongoDB, an array sorts by its smallest element ascending and its largest descending.
 * An empty array sorts as missing; MongoDB puts it just before null, so the relative order of
 * empty arrays, nulls and missing values may differ between adapters (a known, accepted gap).
 */
function sortValue(doc: Doc, parts: readonly string[], order: 'ASC' | 'DESC'): unknown {
  const flat = valuesAt(doc, parts).flatMap((v): unknown[] => (Array.isArray(v) ? v : [v]));
  let best: unknown = undefined;
  let first = true;
  for (const v of flat) {
    if (first || (order === 'ASC' ? compareValues(v, best) < 0 : compareValues(v, best) > 0)) best = v;
    first = false;
  }
  return best;
}

/** MongoDB's cross-type order: missing/null < numbers < strings < objects < arrays < booleans. */
function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 0;
  switch (typeof v) {
    case 'number':
      return 1;
    case 'string':
      return 2;
    case 'boolean':
      return 5;
    default:
      return Array.isArray(v) ? 4 : 3;
  }
}

export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c;
    }
    return Math.sign(a.length - b.length);
  }
  if (ra === 0) return 0;
  // Objects rarely sort; comparing their JSON keeps the order total without MongoDB's full BSON rules.
  return compareStrings(JSON.stringify(a), JSON.stringify(b));
}

/** Code-point order, which is MongoDB's (binary UTF-8) order; plain `<` compares UTF-16 units. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    // A surrogate encodes a code point above U+FFFF, so it sorts after any other unit.
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

export function isPlainObject(v: unknown): v is Doc {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
