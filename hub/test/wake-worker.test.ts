/**
 * The push queue worker (docs/DEVICE-MANAGEMENT.md, "Push queue"): acts on each provider outcome.
 * The provider here is a scripted adapter of the push port (the real APNs provider has its own
 * tests against the APNs simulator).
 */
import { once } from 'node:events';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryWakeQueue } from '../src/push/memory-wake-queue.js';
import type { PushProvider, PushTarget, WakeOutcome } from '../src/push/port.js';
import { WakeWorker, type WakeEvent, type WakeResolution } from '../src/push/wake-worker.js';

const log = pino({ level: 'silent' });

function scriptedProvider(outcomes: WakeOutcome[]): PushProvider & { calls: { target: PushTarget; at: number }[] } {
  const calls: { target: PushTarget; at: number }[] = [];
  return {
    id: 'scripted',
    calls,
    async wake(target) {
      calls.push({ target, at: Date.now() });
      return outcomes.shift() ?? { kind: 'sent', id: String(calls.length) };
    },
  };
}

const target = (deviceId: string): PushTarget => ({
  orgId: 'o1',
  deviceType: 'ios',
  deviceId,
  token: `tok-${deviceId}`,
  extra: { pushMagic: 'm' },
});

describe('wake worker', () => {
  let worker: WakeWorker | undefined;
  afterEach(async () => {
    await worker?.stop();
  });

  const setup = (
    provider: PushProvider,
    opts: Partial<ConstructorParameters<typeof WakeWorker>[4]> = {},
    resolve?: (t: string, id: string) => Promise<WakeResolution>,
  ) => {
    const queue = new MemoryWakeQueue();
    const invalid: PushTarget[] = [];
    const events: WakeEvent[] = [];
    worker = new WakeWorker(
      queue,
      resolve ?? (async (_t, id) => ({ provider, target: target(id) })),
      async (t) => void invalid.push(t),
      log,
      { batch: 10, leaseMs: 5_000, backoffBaseMs: 5, backoffCapMs: 20, maxAttempts: 3, pollMs: 5, ...opts },
    );
    worker.on('wake', (e) => events.push(e));
    worker.start();
    const next = async () => (await once(worker!, 'wake'))[0] as WakeEvent;
    return { queue, invalid, events, next };
  };

  it('pushes once per device however many wake-ups were queued, then the queue is empty', async () => {
    const provider = scriptedProvider([]);
    const { queue, next } = setup(provider);
    await queue.enqueue({ deviceType: 'ios', deviceId: 'd1' });
    await queue.enqueue({ deviceType: 'ios', deviceId: 'd1' });
    worker!.notify();
    expect((await next()).outcome.kind).toBe('sent');
    expect(provider.calls.map((c) => c.target.token)).toEqual(['tok-d1']);
    expect(await queue.size()).toBe(0);
  });

  it('marks a dead token and stops pushing it', async () => {
    const { queue, invalid, next } = setup(scriptedProvider([{ kind: 'token-invalid', reason: 'Unregistered' }]));
    await queue.enqueue({ deviceType: 'ios', deviceId: 'd1' });
    worker!.notify();
    expect((await next()).outcome.kind).toBe('token-invalid');
    expect(invalid.map((t) => t.token)).toEqual(['tok-d1']);
    expect(await queue.size()).toBe(0);
  });

  it("retries transient failures, not before the service's Retry-After, then succeeds", async () => {
    const provider = scriptedProvider([{ kind: 'retry-after', afterMs: 60, reason: 'TooManyRequests' }]);
    const { queue, next } = setup(provider);
    await queue.enqueue({ deviceType: 'ios', deviceId: 'd1' });
    worker!.notify();
    expect((await next()).outcome.kind).toBe('retry-after');
    const second = await next();
    expect(second.outcome.kind).toBe('sent');
    expect(second.wake.attempts).toBe(1);
    expect(provider.calls[1]!.at - provider.calls[0]!.at).toBeGreaterThanOrEqual(60);
  });

  it('gives up after the last attempt, and treats a thrown provider error as transient', async () => {
    const provider: PushProvider = {
      id: 'broken',
      async wake() {
        throw new Error('connect ECONNREFUSED');
      },
    };
    const { queue, events, next } = setup(provider);
    await queue.enqueue({ deviceType: 'ios', deviceId: 'd1' });
    worker!.notify();
    while ((await next()).outcome.kind !== 'gave-up');
    expect(events.map((e) => e.outcome.kind)).toEqual(['retry-after', 'retry-after', 'gave-up']);
    expect(await queue.size()).toBe(0);
  });

  it('drops a wake-up for a device that cannot be pushed (no token, disenrolled) without calling the provider', async () => {
    const provider = scriptedProvider([]);
    const { queue, next } = setup(provider, {}, async () => ({ drop: 'no push token' }));
    await queue.enqueue({ deviceType: 'ios', deviceId: 'd1' });
    worker!.notify();
    expect((await next()).outcome).toEqual({ kind: 'dropped', reason: 'no push token' });
    expect(provider.calls).toEqual([]);
  });
});
