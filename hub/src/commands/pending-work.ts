/**
 * Devices that may have work waiting for them (queued commands, an active OTA task), held in memory
 * so that a device coming online with nothing waiting costs a Map lookup instead of a store query
 * (docs/BENCHMARKS.md, "CONNECT and device GET: where the time goes"; docs/ARCHITECTURE.md,
 * "Registry caches").
 *
 * It may say "maybe" for a device with nothing waiting (the query then runs and clears it), never
 * "nothing" for a device with work: every write that creates work marks the device, and a clear only
 * takes effect if no mark came in since the query that found nothing started (`stampOf` before the
 * query, `clear` after). Only for a process that is the store's single writer: work written by
 * another node would not be marked here, so a clustered hub keeps querying.
 */
export class PendingWork {
  private readonly marks = new Map<string, number>();
  private stamp = 0;

  /** The device may have work: call before (or right after) the write that queues it, before anyone is told. */
  mark(key: string): void {
    this.marks.set(key, ++this.stamp);
  }

  /** False only when the device certainly has nothing waiting. */
  has(key: string): boolean {
    return this.marks.has(key);
  }

  /** Taken before a query for the device's work; handed to `clear` when that query found none. */
  stampOf(key: string): number | undefined {
    return this.marks.get(key);
  }

  /** The query that started at `stamp` found nothing: forget the device, unless it was marked since. */
  clear(key: string, stamp: number | undefined): void {
    if (this.marks.get(key) === stamp) this.marks.delete(key);
  }

  get size(): number {
    return this.marks.size;
  }
}
