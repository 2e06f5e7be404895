import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';

export interface WebhookOptions {
  /** Tries per delivery, the first included. */
  attempts: number;
  /** Wait before the first retry; doubled each time (with ±20 % jitter), at most 5 minutes. */
  backoffMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Deliveries waiting at most; beyond it the oldest is dropped (and logged). */
  maxQueue: number;
}

interface Delivery {
  url: string;
  secret: string;
  body: string;
  attempt: number;
}

/** The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (docs/PROTOCOL.md §7.4). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export const SIGNATURE_HEADER = 'x-edgehub-signature';

/**
 * Alert webhooks: POSTed off the ingestion path, a few at a time, retried with exponential backoff
 * when the receiver is down or answers other than 2xx. Best effort: the alert record itself is
 * durable in the store; a delivery still queued when the hub stops is lost (and logged).
 */
export class WebhookSender {
  private readonly queue: Delivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private active = 0;
  private stopped = false;
  private static readonly PARALLEL = 4;

  constructor(
    private readonly options: WebhookOptions,
    private readonly log: Logger,
  ) {}

  send(url: string, secret: string, payload: unknown): void {
    if (this.stopped) return;
    if (this.queue.length >= this.options.maxQueue) {
      const dropped = this.queue.shift()!;
      this.log.warn({ webhook: originOf(dropped.url) }, 'alert webhook queue full: oldest delivery dropped');
    }
    this.queue.push({ url, secret, body: JSON.stringify(payload), attempt: 1 });
    this.drain();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.queue.length > 0) this.log.warn({ pending: this.queue.length }, 'alert webhooks not delivered at shutdown');
    this.queue.length = 0;
  }

  private drain(): void {
    while (!this.stopped && this.active < WebhookSender.PARALLEL && this.queue.length > 0) {
      const d = this.queue.shift()!;
      this.active++;
      void this.attempt(d).finally(() => {
        this.active--;
        this.drain();
      });
    }
  }

  private async attempt(d: Delivery): Promise<void> {
    let failure: string;
    try {
      const t = Math.floor(Date.now() / 1000);
      const res = await fetch(d.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(d.secret, t, d.body) },
        body: d.body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await res.body?.cancel();
      if (res.ok) return;
      failure = `HTTP ${res.status}`;
    } catch (err) {
      failure = (err as Error).message;
    }
    if (d.attempt >= this.options.attempts || this.stopped) {
      this.log.warn({ webhook: originOf(d.url), attempts: d.attempt, failure }, 'alert webhook given up');
      return;
    }
    const base = Math.min(this.options.backoffMs * 2 ** (d.attempt - 1), 300_000);
    const delay = base * (0.8 + Math.random() * 0.4);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopped) return;
      this.queue.push({ ...d, attempt: d.attempt + 1 });
      this.drain();
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }
}

/** Only the origin reaches the log: a webhook URL may carry a token in its path or query. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
