import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { PushProvider, PushTarget, WakeOutcome } from './port.js';
import type { LeasedWake, WakeQueue } from './wake-queue.js';

/** What the worker needs to push a device: its provider and its registered token, or why not. */
export type WakeResolution = { provider: PushProvider; target: PushTarget } | { drop: string };

export interface WakeWorkerOptions {
  /** Wake-ups taken per round (also the number of pushes in flight). */
  batch: number;
  /** How long a taken wake-up is this worker's; past it, any worker takes it again. */
  leaseMs: number;
  /** Backoff for transient failures: full jitter over min(cap, base · 2^attempts). */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Attempts before a wake-up is given up (logged as an error). */
  maxAttempts: number;
  /** How often an idle worker looks for due wake-ups (retries, other nodes' enqueues). */
  pollMs: number;
}

export const defaultWakeWorkerOptions: WakeWorkerOptions = {
  batch: 200,
  leaseMs: 30_000,
  backoffBaseMs: 1_000,
  backoffCapMs: 60_000,
  maxAttempts: 8,
  pollMs: 1_000,
};

export type WakeEvent = {
  wake: LeasedWake;
  outcome: WakeOutcome | { kind: 'dropped'; reason: string } | { kind: 'gave-up'; reason: string };
};

/**
 * Drains the wake-up queue (docs/DEVICE-MANAGEMENT.md, "Push queue"): takes due wake-ups, pushes
 * each through its device type's provider and acts on the outcome — sent: done; token-invalid:
 * the device's token is marked dead (no pushes until it registers a new one); retry-after:
 * again later with backoff and jitter (not before the service's Retry-After); rejected: an error
 * an operator must act on. A worker that dies mid-push loses nothing: its leases run out.
 */
export class WakeWorker extends EventEmitter<{ wake: [WakeEvent] }> {
  private running = false;
  private loop?: Promise<void>;
  private nudge?: () => void;

  constructor(
    private readonly queue: WakeQueue,
    private readonly resolve: (deviceType: string, deviceId: string) => Promise<WakeResolution>,
    private readonly onTokenInvalid: (target: PushTarget) => Promise<void>,
    private readonly log: Logger,
    private readonly options: WakeWorkerOptions = defaultWakeWorkerOptions,
    private readonly clock: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    super();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.nudge?.();
    await this.loop;
  }

  /** Something was enqueued here: look now instead of at the next poll. */
  notify(): void {
    this.nudge?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let taken: LeasedWake[] = [];
      try {
        taken = await this.queue.lease(this.options.batch, this.options.leaseMs);
        await Promise.all(taken.map((w) => this.push(w)));
      } catch (err) {
        this.log.error({ err }, 'push queue round failed');
      }
      if (taken.length > 0 || !this.running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollMs);
        this.nudge = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.nudge = undefined;
    }
  }

  private async push(w: LeasedWake): Promise<void> {
    const resolved = await this.resolve(w.deviceType, w.deviceId);
    if ('drop' in resolved) {
      await this.queue.ack(w);
      return this.report(w, { kind: 'dropped', reason: resolved.drop });
    }
    let outcome: WakeOutcome;
    try {
      outcome = await resolved.provider.wake(resolved.target);
    } catch (err) {
      outcome = { kind: 'retry-after', reason: err instanceof Error ? err.message : String(err) };
    }
    switch (outcome.kind) {
      case 'sent':
        await this.queue.ack(w);
        break;
      case 'token-invalid':
        await this.onTokenInvalid(resolved.target);
        await this.queue.ack(w);
        this.log.warn(
          { deviceType: w.deviceType, deviceId: w.deviceId, reason: outcome.reason },
          'push token no longer valid: no pushes until the device registers a new one',
        );
        break;
      case 'rejected':
        await this.queue.ack(w);
        this.log.error(
          {
            deviceType: w.deviceType,
            deviceId: w.deviceId,
            provider: resolved.provider.id,
            status: outcome.status,
            reason: outcome.reason,
          },
          'push refused by the push service: an operator must act',
        );
        break;
      case 'retry-after': {
        if (w.attempts + 1 >= this.options.maxAttempts) {
          await this.queue.ack(w);
          this.log.error(
            { deviceType: w.deviceType, deviceId: w.deviceId, attempts: w.attempts + 1, reason: outcome.reason },
            'push given up after repeated failures; the command waits for the next check-in',
          );
          return this.report(w, { kind: 'gave-up', reason: outcome.reason });
        }
        const backoff = this.random() * Math.min(this.options.backoffCapMs, this.options.backoffBaseMs * 2 ** w.attempts);
        await this.queue.retry(w, this.clock() + Math.max(outcome.afterMs ?? 0, backoff));
        break;
      }
    }
    this.report(w, outcome);
  }

  private report(wake: LeasedWake, outcome: WakeEvent['outcome']): void {
    this.emit('wake', { wake, outcome });
  }
}
