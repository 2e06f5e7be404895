import type { Logger } from 'pino';
import type { Collection } from '../../store/port.js';
import type { IosEnrollment } from './enrollments.js';
import type { MdmPushProvider, PushOutcome } from '../../push/apns/outcome.js';

export interface MdmPusherOptions {
  /** Pushes sent side by side (the provider bounds its HTTP/2 streams on its own). */
  concurrency?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  maxAttempts?: number;
  random?: () => number;
}

/**
 * The outbound wake-up queue for Apple devices (docs/DEVICE-MANAGEMENT.md, "Apple: push"). `wake`
 * only records that a device needs a push; a drain loop sends them. Pushes for one device
 * coalesce: however many commands were queued, one push is in the queue at a time (the device
 * fetches every command at its check-in). 410 marks the enrollment push-invalid until its next
 * TokenUpdate; 429/5xx retry with exponential backoff and full jitter; 403 is a certificate
 * problem for an operator and is logged as such.
 */
export class MdmPusher {
  private readonly queued = new Set<string>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private active = 0;
  private stopped = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly enrollments: Collection<IosEnrollment>,
    private readonly provider: () => MdmPushProvider | undefined,
    private readonly log: Logger,
    private readonly opts: MdmPusherOptions = {},
    private readonly onOutcome?: (udid: string, outcome: PushOutcome) => void,
  ) {}

  wake(udid: string): void {
    if (this.stopped || this.retryTimers.has(udid)) return;
    this.queued.add(udid);
    this.drain();
  }

  /** Resolves when nothing is queued or being sent (retries waiting on a timer do not count). */
  idle(): Promise<void> {
    if (this.queued.size === 0 && this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    this.queued.clear();
  }

  private drain(): void {
    const limit = this.opts.concurrency ?? 256;
    while (this.active < limit && this.queued.size > 0) {
      const udid = this.queued.values().next().value as string;
      this.queued.delete(udid);
      this.active++;
      void this.send(udid).finally(() => {
        this.active--;
        this.drain();
        if (this.active === 0 && this.queued.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async send(udid: string): Promise<void> {
    try {
      const e = await this.enrollments.get(udid);
      if (!e || !e.enabled || e.pushInvalid || !e.tokenHex || !e.pushMagic) {
        this.log.debug({ udid }, 'ios push skipped: no valid push token');
        return;
      }
      const provider = this.provider();
      if (!provider) {
        this.log.warn({ udid }, 'ios push skipped: no APNs push certificate uploaded');
        return;
      }
      const outcome = await provider.push({ tokenHex: e.tokenHex, pushMagic: e.pushMagic, topic: e.topic });
      this.onOutcome?.(udid, outcome);
      switch (outcome.kind) {
        case 'sent':
          this.attempts.delete(udid);
          return;
        case 'token-invalid':
          this.attempts.delete(udid);
          // Only a token we still hold is invalidated: a TokenUpdate in the meantime wins.
          await this.enrollments.update(udid, { pushInvalid: true }, { tokenHex: e.tokenHex });
          this.log.info(
            { udid, status: outcome.status, reason: outcome.reason },
            'ios push token invalid: no pushes until the next TokenUpdate',
          );
          return;
        case 'certificate':
          this.attempts.delete(udid);
          this.log.error({ status: outcome.status, reason: outcome.reason }, 'apns refused the push certificate');
          return;
        case 'rejected':
          this.attempts.delete(udid);
          this.log.error({ udid, status: outcome.status, reason: outcome.reason }, 'apns rejected the push');
          return;
        case 'retry':
          return this.retry(udid, outcome.reason);
      }
    } catch (err) {
      this.log.error({ err, udid }, 'ios push failed');
    }
  }

  private retry(udid: string, reason: string): void {
    const attempt = (this.attempts.get(udid) ?? 0) + 1;
    if (attempt > (this.opts.maxAttempts ?? 8)) {
      this.attempts.delete(udid);
      this.log.warn({ udid, reason }, 'ios push given up after retries; the device is woken by its next command');
      return;
    }
    this.attempts.set(udid, attempt);
    const cap = Math.min(this.opts.retryMaxMs ?? 60_000, (this.opts.retryBaseMs ?? 1_000) * 2 ** (attempt - 1));
    const delay = Math.floor((this.opts.random ?? Math.random)() * cap);
    const timer = setTimeout(() => {
      this.retryTimers.delete(udid);
      this.wake(udid);
    }, delay);
    timer.unref();
    this.retryTimers.set(udid, timer);
  }
}
