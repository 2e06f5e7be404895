import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import type { Redis } from 'ioredis';
import { wakeKey, type LeasedWake, type WakeQueue, type WakeRequest } from './wake-queue.js';

/**
 * The wake-up queue in Redis (docs/DEVICE-MANAGEMENT.md, "Push queue"): shared by every node, so any
 * worker sends and a wake-up leased by a node that dies is due again when its lease runs out.
 * Layout under `prefix`: a hash per device (`item:<type>/<id>`: deviceType, deviceId, seq, attempts,
 * lease, leaseSeq), a sorted set of due wake-ups (score = due time) and one of leased ones
 * (score = lease end). Every operation is one Lua script, so two workers never take the same one.
 */

const ENQUEUE = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'seq', 1)
  return 0
end
redis.call('HSET', KEYS[1], 'deviceType', ARGV[2], 'deviceId', ARGV[3], 'seq', 1, 'attempts', 0)
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1`;

const LEASE = `
local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES')
for i = 1, #expired, 2 do
  redis.call('ZREM', KEYS[2], expired[i])
  redis.call('ZADD', KEYS[1], expired[i + 1], expired[i])
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i, k in ipairs(due) do
  local item = ARGV[5] .. k
  redis.call('ZREM', KEYS[1], k)
  if redis.call('EXISTS', item) == 1 then
    local leaseId = ARGV[4] .. ':' .. i
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), k)
    redis.call('HSET', item, 'lease', leaseId, 'leaseSeq', redis.call('HGET', item, 'seq'))
    local f = redis.call('HMGET', item, 'deviceType', 'deviceId', 'attempts')
    table.insert(out, { f[1], f[2], f[3], leaseId })
  end
end
return out`;

/** Shared by ack and retry: is the caller's lease still the current, unexpired one? */
const HELD = `
local function held()
  if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[2] then return false end
  local lu = redis.call('ZSCORE', KEYS[3], ARGV[1])
  return lu and tonumber(lu) > tonumber(ARGV[3])
end`;

const ACK = `${HELD}
if not held() then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'seq') == redis.call('HGET', KEYS[1], 'leaseSeq') then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'attempts', 0)
  redis.call('HDEL', KEYS[1], 'lease', 'leaseSeq')
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1`;

const RETRY = `${HELD}
if not held() then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HDEL', KEYS[1], 'lease', 'leaseSeq')
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1`;

type Scripted = Redis & {
  wakeEnqueue(item: string, due: string, leased: string, key: string, deviceType: string, deviceId: string, now: number): Promise<number>;
  wakeLease(
    due: string,
    leased: string,
    now: number,
    max: number,
    leaseMs: number,
    leaseBase: string,
    itemPrefix: string,
  ): Promise<[string, string, string, string][]>;
  wakeAck(item: string, due: string, leased: string, key: string, leaseId: string, now: number): Promise<number>;
  wakeRetry(item: string, due: string, leased: string, key: string, leaseId: string, now: number, notBefore: number): Promise<number>;
};

export class RedisWakeQueue implements WakeQueue {
  private readonly redis: Scripted;
  private readonly due: string;
  private readonly leased: string;
  private readonly itemPrefix: string;

  constructor(
    redisUrl: string,
    prefix = 'edgehub:wakes:',
    private readonly clock: () => number = Date.now,
  ) {
    // ioredis loads only when a cluster opens this queue (docs/BENCHMARKS.md, start-up).
    const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof IORedis;
    const redis = new RedisClient(redisUrl, { maxRetriesPerRequest: 3 });
    redis.defineCommand('wakeEnqueue', { numberOfKeys: 3, lua: ENQUEUE });
    redis.defineCommand('wakeLease', { numberOfKeys: 2, lua: LEASE });
    redis.defineCommand('wakeAck', { numberOfKeys: 3, lua: ACK });
    redis.defineCommand('wakeRetry', { numberOfKeys: 3, lua: RETRY });
    this.redis = redis as Scripted;
    this.due = `${prefix}due`;
    this.leased = `${prefix}leased`;
    this.itemPrefix = `${prefix}item:`;
  }

  async enqueue(wake: WakeRequest): Promise<void> {
    const key = wakeKey(wake);
    await this.redis.wakeEnqueue(this.itemPrefix + key, this.due, this.leased, key, wake.deviceType, wake.deviceId, this.clock());
  }

  async lease(max: number, leaseMs: number): Promise<LeasedWake[]> {
    const rows = await this.redis.wakeLease(this.due, this.leased, this.clock(), max, leaseMs, randomUUID(), this.itemPrefix);
    return rows.map(([deviceType, deviceId, attempts, leaseId]) => ({ deviceType, deviceId, attempts: Number(attempts), leaseId }));
  }

  async ack(w: LeasedWake): Promise<boolean> {
    const key = wakeKey(w);
    return (await this.redis.wakeAck(this.itemPrefix + key, this.due, this.leased, key, w.leaseId, this.clock())) === 1;
  }

  async retry(w: LeasedWake, notBefore: number): Promise<boolean> {
    const key = wakeKey(w);
    return (await this.redis.wakeRetry(this.itemPrefix + key, this.due, this.leased, key, w.leaseId, this.clock(), notBefore)) === 1;
  }

  async size(): Promise<number> {
    const [[, a], [, b]] = (await this.redis.multi().zcard(this.due).zcard(this.leased).exec()) as [[null, number], [null, number]];
    return a + b;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
