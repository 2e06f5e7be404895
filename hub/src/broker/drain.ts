import type { Client } from 'aedes';
import type { SessionRegistry } from '../sessions/sessions.js';

/** Device PUBLISHes being handled (stored, answered) per connection, so a drain never cuts one off. */
export class PublishesInFlight {
  private readonly counts = new Map<Client, number>();
  private readonly waiters = new Map<Client, (() => void)[]>();

  begin(client: Client): void {
    this.counts.set(client, (this.counts.get(client) ?? 0) + 1);
  }

  end(client: Client): void {
    const n = (this.counts.get(client) ?? 1) - 1;
    if (n > 0) return void this.counts.set(client, n);
    this.counts.delete(client);
    const waiting = this.waiters.get(client);
    this.waiters.delete(client);
    // aedes writes the PUBACK right after the publish is authorized: let it go out first.
    if (waiting) setImmediate(() => waiting.forEach((w) => w()));
  }

  /** Resolves once nothing of this connection is in flight. */
  idle(client: Client): Promise<void> {
    if (!this.counts.has(client)) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const list = this.waiters.get(client) ?? [];
      list.push(resolve);
      this.waiters.set(client, list);
    });
  }
}

/**
 * A worker leaving the cluster (SIGTERM, docs/DEPLOYMENT.md): it has stopped accepting; now its
 * devices are disconnected gradually, `perSecond` at a time (0: all at once), each only once its
 * publishes in flight have been stored and acknowledged, so that they reconnect through the load
 * balancer to the other workers without a storm and without a post handled twice.
 */
export async function drainSessions(sessions: SessionRegistry, inFlight: PublishesInFlight, perSecond: number): Promise<number> {
  const clients = [...sessions.all()].map((s) => s.client);
  const batch = perSecond > 0 ? Math.max(1, Math.ceil(perSecond / 10)) : clients.length;
  for (let i = 0; i < clients.length; i += batch) {
    const started = Date.now();
    await Promise.all(
      clients.slice(i, i + batch).map(async (client) => {
        await inFlight.idle(client);
        client.close();
      }),
    );
    if (perSecond > 0 && i + batch < clients.length) {
      const wait = (batch / perSecond) * 1000 - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  return clients.length;
}
