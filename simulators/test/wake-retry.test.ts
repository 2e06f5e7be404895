import { describe, expect, it } from 'vitest';
import { WAKE_TRIES, pollOnWake, wakeWait, type WakeTry } from '../src/wake-retry.js';

/** A poll that answers with each outcome of `script` in turn, then with the last one; counts its calls. */
function scripted(...script: (WakeTry | 'drop')[]) {
  let calls = 0;
  const tryOnce = async (): Promise<WakeTry> => {
    const next = script[Math.min(calls++, script.length - 1)]!;
    if (next === 'drop') throw new Error('ECONNRESET');
    return next;
  };
  return { tryOnce, calls: () => calls };
}

describe("a simulated device's wake-up retry (simulators/src/wake-retry.ts)", () => {
  it('tries again after a dropped connection or a busy answer until the poll is served', async () => {
    const poll = scripted('drop', 'retry', 'drop', 'served');
    expect(await pollOnWake(poll.tryOnce, 1)).toBe('served');
    expect(poll.calls()).toBe(4);
  });

  it('stops at a refusal: trying again would not help', async () => {
    const poll = scripted('retry', 'refused', 'served');
    expect(await pollOnWake(poll.tryOnce, 1)).toBe('refused');
    expect(poll.calls()).toBe(2);
  });

  it('gives up after every try, and with retryMs 0 after the first', async () => {
    const failing = scripted('drop');
    expect(await pollOnWake(failing.tryOnce, 1, 5)).toBe('gave-up');
    expect(failing.calls()).toBe(5);
    const once = scripted('retry');
    expect(await pollOnWake(once.tryOnce, 0)).toBe('gave-up');
    expect(once.calls()).toBe(1);
  });

  it('caps each wait: 20 tries doubling from 1 ms would otherwise wait some 17 minutes', async () => {
    const failing = scripted('retry');
    expect(await pollOnWake(failing.tryOnce, 1, 20, 2)).toBe('gave-up');
    expect(failing.calls()).toBe(20);
  });

  it("by default keeps a wake-up alive for minutes, as a device's periodic poll would, with no wait over 30 s", () => {
    const waits = Array.from({ length: WAKE_TRIES - 1 }, (_, i) => wakeWait(i + 1, 500));
    const total = waits.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(5 * 60_000);
    expect(Math.max(...waits)).toBe(30_000);
  });
});
