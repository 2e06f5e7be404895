/**
 * Group commit of device status writes (docs/BENCHMARKS.md, "CONNECT and device GET: where the time
 * goes"). Every `online` and `offline` write is its own conditional update, and the embedded store
 * commits and syncs the writes that reach it in the same turn of the event loop together. A commit
 * with its sync costs far more CPU than the write it carries, and in a storm of CONNECTs or
 * DISCONNECTs the writes arrive one per turn. So a status write first waits for its batch: a batch
 * opens with its first write and is released `windowMs` later, or at once when `maxBatch` writes
 * wait; the writes of one batch are issued together and share one commit.
 *
 * Nothing becomes less durable: each caller still resolves only once its own write has committed,
 * and the lifecycle announces a status only after that (docs/PROTOCOL.md §3.3). What a batch costs is
 * latency: a status lands up to `windowMs` later than it would alone.
 */
export interface StatusCommitOptions {
  /** How long the first write of a batch waits for others (0: every write goes at once). */
  windowMs: number;
  /** A batch this large is released without waiting out the window. */
  maxBatch: number;
}

/** Long enough to gather the writes of a storm (hundreds of connections a second), short beside a human or a poll. */
export const defaultStatusCommits: StatusCommitOptions = { windowMs: 20, maxBatch: 500 };

export class StatusCommits {
  private waiting: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: StatusCommitOptions = defaultStatusCommits) {}

  /** Runs `write` together with the other status writes of its batch; resolves with its result. */
  async run<T>(write: () => Promise<T>): Promise<T> {
    if (this.options.windowMs > 0) await this.turn();
    return write();
  }

  /** Resolves when this caller's batch is released: all its callers continue in the same turn. */
  private turn(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length >= this.options.maxBatch) this.release();
      else this.timer ??= setTimeout(() => this.release(), this.options.windowMs);
    });
  }

  private release(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    for (const resolve of batch) resolve();
  }
}
