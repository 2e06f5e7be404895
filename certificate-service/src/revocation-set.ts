import type { CertificateOperations } from './api.js';
import { silentLogger, type Logger } from './logger.js';
import { normalizeSerialHex } from './serial.js';

type Source = Pick<CertificateOperations, 'revokedSerials' | 'onRevoked'> & Partial<Pick<CertificateOperations, 'revocations'>>;

/**
 * The revoked serials a TLS listener consults on every handshake, held in memory (never a network
 * round trip per handshake). It learns a revocation three ways:
 * - at once, from revocations made through its own source (`onRevoked`);
 * - within about a second, from the source's revocation feed, which it long-polls: revocations made
 *   at the standalone service, by an operator or by another hub (docs/SECURITY.md "Certificates");
 * - as a safety net, from a full reload every `refreshMs`.
 * Listeners (`onAdded`) hear every serial once, the first time it is learned: the broker closes the
 * sessions opened with it.
 */
export class RevocationSet {
  private serials = new Set<string>();
  private readonly added = new Set<(serialHex: string) => void>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly stopping = new AbortController();
  private feed: Promise<void> | undefined;

  private constructor(
    private readonly source: Source,
    private readonly logger: Logger,
  ) {}

  static async follow(source: Source, o: { refreshMs?: number; feedWaitSeconds?: number; logger?: Logger } = {}): Promise<RevocationSet> {
    const set = new RevocationSet(source, o.logger ?? silentLogger);
    set.unsubscribe = source.onRevoked((e) => set.add([e.serialHex]));
    await set.refresh();
    const refreshMs = o.refreshMs ?? 60_000;
    if (refreshMs > 0) {
      set.timer = setInterval(() => {
        set
          .refresh()
          .catch((err: unknown) =>
            set.logger.warn(`certificate service: refreshing the revoked set failed (keeping the last one): ${String(err)}`),
          );
      }, refreshMs);
      set.timer.unref();
    }
    if (source.revocations) set.feed = set.followFeed(source.revocations.bind(source), o.feedWaitSeconds ?? 25);
    return set;
  }

  /** Takes the serial as Node reports it (`peerCertificate.serialNumber`, uppercase hex). */
  has(serialHex: string): boolean {
    return this.serials.has(normalizeSerialHex(serialHex));
  }

  get size(): number {
    return this.serials.size;
  }

  /** Called with each serial the first time this set learns it is revoked; returns the unsubscribe function. */
  onAdded(listener: (serialHex: string) => void): () => void {
    this.added.add(listener);
    return () => this.added.delete(listener);
  }

  async refresh(): Promise<void> {
    this.add(await this.source.revokedSerials());
  }

  close(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
    this.stopping.abort();
  }

  /** Resolves once the feed loop has stopped (after close()). */
  async closed(): Promise<void> {
    await this.feed;
  }

  /** Revocations are never undone: serials are only ever added. */
  private add(serials: Iterable<string>): void {
    for (const raw of serials) {
      const serial = normalizeSerialHex(raw);
      if (this.serials.has(serial)) continue;
      this.serials.add(serial);
      for (const listener of this.added) {
        try {
          listener(serial);
        } catch (err) {
          this.logger.error(`certificate service: a revocation listener threw: ${String(err)}`);
        }
      }
    }
  }

  private async followFeed(revocations: NonNullable<Source['revocations']>, waitSeconds: number): Promise<void> {
    const signal = this.stopping.signal;
    let epoch: string | undefined;
    let position = 0;
    let backoffMs = 0;
    while (!signal.aborted) {
      try {
        const page = await revocations({ after: position, waitSeconds, ...(epoch ? { epoch } : {}) }, signal);
        if (epoch !== undefined && page.epoch !== epoch)
          this.logger.info('certificate service: the revocation feed restarted; reloaded the revoked set');
        epoch = page.epoch;
        position = page.position;
        this.add(page.serials);
        backoffMs = 0;
      } catch (err) {
        if (signal.aborted) return;
        backoffMs = Math.min(30_000, backoffMs === 0 ? 1000 : backoffMs * 2);
        this.logger.warn(`certificate service: the revocation feed failed (retrying in ${backoffMs / 1000} s): ${String(err)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoffMs);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    }
  }
}
