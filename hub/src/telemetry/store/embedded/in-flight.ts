/**
 * The writes issued and not yet settled, so that a reader can wait for every write issued before
 * a moment, whatever order the writes settle in, without waiting for the ones issued after it.
 */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();

  /** Keeps `write` here until it settles; gives it back to be awaited. */
  track<T>(write: Promise<T>): Promise<T> {
    this.pending.add(write);
    const done = () => void this.pending.delete(write);
    write.then(done, done);
    return write;
  }

  /** Resolves once every write tracked before this call has settled, fulfilled or not. */
  async settled(): Promise<void> {
    if (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
