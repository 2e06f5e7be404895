/**
 * The writes issued and not yet settled, so that a reader can wait for every write issued before
 * a moment, whatever order the writes settle in, without waiting for the ones issued after it.
 */
export class InFlight {
  private next = 0;
  private readonly pending = new Set<number>();
  private waiters: { before: number; resolve: () => void }[] = [];

  /** A write is issued; pass the number returned to `end` once it has settled. */
  begin(): number {
    const n = this.next++;
    this.pending.add(n);
    return n;
  }

  end(n: number): void {
    this.pending.delete(n);
    if (this.waiters.length > 0) this.wake();
  }

  /** Resolves once every write begun before this call has ended. */
  settled(): Promise<void> {
    const before = this.next;
    if (!this.anyBefore(before)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ before, resolve }));
  }

  private wake(): void {
    this.waiters = this.waiters.filter((w) => {
      if (this.anyBefore(w.before)) return true;
      w.resolve();
      return false;
    });
  }

  private anyBefore(before: number): boolean {
    for (const n of this.pending) if (n < before) return true;
    return false;
  }
}
