/**
 * Registry records kept in memory between store reads, for the lookups every CONNECT and every
 * signed request repeats (docs/BENCHMARKS.md, "CONNECT and device GET: where the time goes").
 *
 * Only for a single hub process: the repository that writes a record drops it from the cache when
 * the write has committed, so a change made through this process (a disabled device, a rotated
 * secret, an unregistered application) takes effect on the very next lookup. Other nodes of a
 * cluster do not see those drops, so a clustered hub (REDIS_URL) runs with the caches off and reads
 * the store every time (docs/ARCHITECTURE.md, "Registry caches").
 *
 * A read that started before a drop never fills the cache with what it read (the generation
 * check), so an old record cannot come back after the write that replaced it. Entries are held
 * until dropped; past `limit` entries the cache starts over.
 */
export class RecordCache<V> {
  private readonly entries = new Map<string, V>();
  private generation = 0;

  constructor(
    readonly enabled: boolean,
    private readonly limit = 100_000,
  ) {}

  /** The cached record, or `load()`'s answer (remembered when found and nothing was dropped meanwhile). */
  async read(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    if (!this.enabled) return load();
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const generation = this.generation;
    const value = await load();
    if (value !== undefined && generation === this.generation) {
      if (this.entries.size >= this.limit) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }

  /**
   * The record if it is held, without reading the store: lets a lookup answer synchronously on a hit
   * (the signed-request checks in hub/src/api/auth.ts); undefined when not held or caching is off.
   */
  peek(key: string): V | undefined {
    return this.enabled ? this.entries.get(key) : undefined;
  }

  /** Call after the write that changed or removed the record has committed. */
  drop(key: string): void {
    this.generation++;
    this.entries.delete(key);
  }
}
