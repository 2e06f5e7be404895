import type { CertificateOperations } from './api.js';
import { silentLogger, type Logger } from './logger.js';
import { normalizeSerialHex } from './serial.js';

/**
 * The revoked serials a TLS listener consults on every handshake, held in memory (issue 5: no
 * network round trip per handshake). Updated at once by every revocation event of its source and,
 * as a safety net for revocations it was not told about (another hub instance using the same
 * standalone service), reloaded every `refreshMs`.
 */
export class RevocationSet {
  private serials = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  private constructor(
    private readonly source: Pick<CertificateOperations, 'revokedSerials' | 'onRevoked'>,
    private readonly logger: Logger,
  ) {}

  static async follow(
    source: Pick<CertificateOperations, 'revokedSerials' | 'onRevoked'>,
    o: { refreshMs?: number; logger?: Logger } = {},
  ): Promise<RevocationSet> {
    const set = new RevocationSet(source, o.logger ?? silentLogger);
    set.unsubscribe = source.onRevoked((e) => set.serials.add(e.serialHex));
    await set.refresh();
    const refreshMs = o.refreshMs ?? 60_000;
    if (refreshMs > 0) {
      set.timer = setInterval(() => {
        set.refresh().catch((err: unknown) => set.logger.warn(`certificate service: refreshing the revoked set failed (keeping the last one): ${String(err)}`));
      }, refreshMs);
      set.timer.unref();
    }
    return set;
  }

  /** Takes the serial as Node reports it (`peerCertificate.serialNumber`, uppercase hex). */
  has(serialHex: string): boolean {
    return this.serials.has(normalizeSerialHex(serialHex));
  }

  get size(): number {
    return this.serials.size;
  }

  async refresh(): Promise<void> {
    const fresh = new Set(await this.source.revokedSerials());
    // Events that arrived while the list was in flight are kept (revocations are never undone).
    for (const s of this.serials) fresh.add(s);
    this.serials = fresh;
  }

  close(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }
}
