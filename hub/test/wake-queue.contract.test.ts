/**
 * The wake-up queue contract (docs/DEVICE-MANAGEMENT.md, "Push queue"): the memory and the Redis
 * adapter give the same answers. Redis runs against a real redis-server (required under CI=true).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hasRedisServer, requireService, startRedis, type RunningRedis } from '../../test/src/redis-server.js';
import { MemoryWakeQueue } from '../src/push/memory-wake-queue.js';
import { RedisWakeQueue } from '../src/push/redis-wake-queue.js';
import type { WakeQueue } from '../src/push/wake-queue.js';

const redisAvailable = requireService(hasRedisServer(), 'redis-server');
let redis: RunningRedis | undefined;
let prefixes = 0;

beforeAll(async () => {
  if (redisAvailable) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

interface Adapter {
  name: string;
  skip: boolean;
  /** Two handles on one queue (two nodes), sharing the test's clock. */
  open(clock: () => number): { a: WakeQueue; b: WakeQueue };
  /** Whether the two handles share state (Redis) or each node has its own (memory). */
  shared: boolean;
}

const adapters: Adapter[] = [
  {
    name: 'memory',
    skip: false,
    shared: false,
    open: (clock) => {
      const q = new MemoryWakeQueue(clock);
      return { a: q, b: q };
    },
  },
  {
    name: 'redis',
    skip: !redisAvailable,
    shared: true,
    open: (clock) => {
      const prefix = `test${++prefixes}:`;
      return { a: new RedisWakeQueue(redis!.url, prefix, clock), b: new RedisWakeQueue(redis!.url, prefix, clock) };
    },
  },
];

const phone = (n: number) => ({ deviceType: 'ios', deviceId: `d${n}` });

for (const adapter of adapters) {
  describe.skipIf(adapter.skip)(`wake queue contract: ${adapter.name}`, () => {
    let now: number;
    let q: WakeQueue;
    let other: WakeQueue;

    beforeEach(async () => {
      now = 1_800_000_000_000;
      const opened = adapter.open(() => now);
      q = opened.a;
      other = opened.b;
      return async () => {
        await q.close();
        if (other !== q) await other.close();
      };
    });

    it('coalesces wake-ups of one device into one push, and hands devices out oldest first', async () => {
      await q.enqueue(phone(1));
      now += 1;
      await q.enqueue(phone(2));
      await q.enqueue(phone(1));
      await q.enqueue(phone(1));
      expect(await q.size()).toBe(2);
      const taken = await q.lease(10, 30_000);
      expect(taken.map((w) => [w.deviceId, w.attempts])).toEqual([
        ['d1', 0],
        ['d2', 0],
      ]);
      expect(await q.lease(10, 30_000)).toEqual([]);
      expect(await q.ack(taken[1]!)).toBe(true);
      expect(await q.size()).toBe(1);
    });

    it('takes no more than asked for', async () => {
      for (let i = 0; i < 5; i++) await q.enqueue(phone(i));
      expect((await q.lease(3, 30_000)).length).toBe(3);
      expect((await q.lease(3, 30_000)).length).toBe(2);
    });

    it("keeps a wake-up queued while the device's push was in flight: due again after the ack", async () => {
      await q.enqueue(phone(1));
      const [w] = await q.lease(10, 30_000);
      await q.enqueue(phone(1));
      expect(await q.lease(10, 30_000)).toEqual([]);
      expect(await q.ack(w!)).toBe(true);
      const [again] = await q.lease(10, 30_000);
      expect(again?.deviceId).toBe('d1');
      expect(await q.ack(again!)).toBe(true);
      expect(await q.size()).toBe(0);
    });

    it('retries not before the given time, counting attempts', async () => {
      await q.enqueue(phone(1));
      const [w] = await q.lease(10, 30_000);
      expect(await q.retry(w!, now + 5_000)).toBe(true);
      expect(await q.lease(10, 30_000)).toEqual([]);
      now += 5_000;
      const [again] = await q.lease(10, 30_000);
      expect(again?.attempts).toBe(1);
    });

    it('hands a wake-up out again when its lease runs out (the worker died); the dead lease can no longer ack', async () => {
      await q.enqueue(phone(1));
      const [w] = await q.lease(10, 1_000);
      now += 999;
      expect(await other.lease(10, 1_000)).toEqual([]);
      now += 1;
      const [taken] = await other.lease(10, 1_000);
      expect(taken?.deviceId).toBe('d1');
      expect(taken?.leaseId).not.toBe(w!.leaseId);
      expect(await q.ack(w!)).toBe(false);
      expect(await q.retry(w!, now)).toBe(false);
      expect(await other.ack(taken!)).toBe(true);
      expect(await q.size()).toBe(0);
    });

    if (adapter.shared) {
      it('lets any node take what another node queued', async () => {
        await q.enqueue(phone(7));
        const [w] = await other.lease(10, 30_000);
        expect(w?.deviceId).toBe('d7');
      });
    }
  });
}
