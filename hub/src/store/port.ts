/**
 * The registry store port: what the repositories need from a backend, nothing more.
 * Adapters: embedded (LMDB, the default, durable on disk) and MongoDB. The repositories in
 * registry/ are written once against this port; one contract suite proves every adapter
 * behaves the same (test: hub/test/store.contract.test.ts).
 *
 * Documents are plain JSON objects (no Date, no Buffer, no undefined): timestamps are epoch ms.
 */

export type Scalar = string | number | boolean | null;

/**
 * A filter is a small, explicit subset of MongoDB's query language, so that the MongoDB adapter
 * passes it through and the embedded adapter evaluates it itself:
 *   { field: value }                 equality (dotted paths reach into nested objects)
 *   { field: { $in: [v1, v2] } }     membership
 *   { field: { $ne: value } }        inequality (a missing field is "not equal")
 *   { field: { $exists: bool } }     presence
 *   { field: { $gte|$gt|$lte|$lt: n } }  numeric/string ranges
 *   { field: { $prefix: 'abc' } }    string prefix (translated to an anchored regex for MongoDB)
 *   { $and: [f, …] } / { $or: [f, …] }
 * Several keys in one object are combined with AND.
 */
export type FieldCondition =
  | Scalar
  | {
      $in?: Scalar[];
      $ne?: Scalar;
      $exists?: boolean;
      $gt?: number | string;
      $gte?: number | string;
      $lt?: number | string;
      $lte?: number | string;
      $prefix?: string;
    };

export type Filter = { $and?: Filter[]; $or?: Filter[] } & { [field: string]: FieldCondition | Filter[] | undefined };

export interface SortSpec {
  field: string;
  order: 'ASC' | 'DESC';
}

export interface FindOptions {
  sort?: SortSpec[];
  /** Number of matching documents to skip. */
  offset?: number;
  /** Maximum number of documents to return. */
  limit?: number;
}

export interface FindResult<T> {
  items: T[];
  /** Number of documents matching the filter, ignoring offset and limit. */
  total: number;
}

/** Describes one collection: its primary key field and its indexes. Declared by the repositories. */
export interface CollectionSpec {
  name: string;
  /** Field holding the primary key (a non-empty string). */
  key: string;
  /** Unique indexes over one or more top-level fields; a document missing any field is not indexed. */
  unique?: { name: string; fields: string[] }[];
  /** Non-unique single-field indexes used to answer equality filters quickly. */
  indexes?: string[];
}

/** Thrown by insert/update when the primary key or a unique index already holds the value. */
export class DuplicateKeyError extends Error {
  /** The primary key field name, or the unique index name. */
  readonly index: string;
  constructor(collection: string, index: string) {
    super(`duplicate key in ${collection} on ${index}`);
    this.name = 'DuplicateKeyError';
    this.index = index;
  }
}

export interface Collection<T extends object> {
  get(id: string): Promise<T | undefined>;
  findOne(filter: Filter): Promise<T | undefined>;
  find(filter: Filter, options?: FindOptions): Promise<FindResult<T>>;
  count(filter: Filter): Promise<number>;
  /** Resolves once the document is durable. Throws DuplicateKeyError. */
  insert(doc: T): Promise<void>;
  /**
   * Inserts each document independently (not all-or-nothing); the result has one entry per
   * document in order: undefined when inserted, the DuplicateKeyError otherwise.
   */
  insertMany(docs: T[]): Promise<(DuplicateKeyError | undefined)[]>;
  /**
   * Sets the given top-level fields (a `null` value stores null; fields not named are kept) on the
   * document with this id, only if it also matches `where`. Returns the updated document, or
   * undefined when no document matched. Throws DuplicateKeyError if a unique index would clash.
   */
  update(id: string, set: Partial<T>, where?: Filter): Promise<T | undefined>;
  /** Removes the named top-level fields. Returns the updated document or undefined. */
  unset(id: string, fields: string[], where?: Filter): Promise<T | undefined>;
  /** Deletes the document if it matches `where`. Returns whether a document was deleted. */
  delete(id: string, where?: Filter): Promise<boolean>;
}

export interface Store {
  /** The adapter's name as shown in logs and test output: 'embedded' or 'mongodb'. */
  readonly kind: string;
  collection<T extends object>(spec: CollectionSpec): Promise<Collection<T>>;
  /**
   * Reads from here on see every write any process has committed so far. Called when another
   * process says it has just written something (a cluster node's message): the embedded store
   * reads within one turn of the event loop from the snapshot its first read took, so without this
   * a read in the same turn as the message could miss the write the message is about. Adapters
   * whose reads always see committed writes (MongoDB) leave it out.
   */
  seeLatestCommits?(): void;
  close(): Promise<void>;
}
