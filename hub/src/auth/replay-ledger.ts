import { DuplicateKeyError, type Collection } from '../store/port.js';

/** One accepted signed request (a token request or an application's stream login). */
export interface TokenRequestRecord {
  encryption: string;
  appKey: string;
  at: number;
}

/**
 * Remembers every `encryption` = sha256(accessKey + timestamp + accessSecret) accepted within the
 * timestamp window, so the same signature is accepted once (docs/PROTOCOL.md §1, the token
 * service's 1001; docs/SECURITY.md, "Replay"). The token service and the application stream login
 * share one ledger: a signature seen at either door is spent at both. It lives in the registry
 * store, so every node of a cluster sees the same ledger.
 */
export class ReplayLedger {
  private lastPrune = 0;

  constructor(
    private readonly requests: Collection<TokenRequestRecord>,
    private readonly windowSeconds: number,
  ) {}

  /** Records the signature; false when it was already used. */
  async firstUse(appKey: string, encryption: string, now: number): Promise<boolean> {
    try {
      await this.requests.insert({ encryption: encryption.toLowerCase(), appKey, at: now });
    } catch (e) {
      if (e instanceof DuplicateKeyError) return false;
      throw e;
    }
    await this.prune(now);
    return true;
  }

  /** A signature older than twice the window can no longer pass the timestamp check: forget it. */
  private async prune(now: number): Promise<void> {
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    const cutoff = now - this.windowSeconds * 1000 * 2;
    const old = await this.requests.find({ at: { $lt: cutoff } }, { limit: 1000 });
    for (const r of old.items) await this.requests.delete(r.encryption);
  }
}
