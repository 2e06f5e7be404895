import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ConnectThrottle, type Throttle, type ThrottleConfig } from '../broker/throttle.js';

// One atomic step per connection attempt: the same rule as the in-process throttle, cluster-wide.
const ADMIT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
if redis.call('exists', KEYS[2]) == 1 then return {1, redis.call('pttl', KEYS[2])} end
redis.call('zremrangebyscore', KEYS[1], '-inf', now - window)
local last = redis.call('zrevrange', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('zadd', KEYS[1], now, ARGV[6])
redis.call('pexpire', KEYS[1], window)
if redis.call('zcard', KEYS[1]) > tonumber(ARGV[3]) then
  redis.call('set', KEYS[2], '1', 'PX', ARGV[5])
  return {2, tonumber(ARGV[5])}
end
if last[2] and now - tonumber(last[2]) < tonumber(ARGV[4]) then return {3, 0} end
return {0, 0}`;

/**
 * The per-device connection throttle of docs/ENOS-PROTOCOL.md §2.3, kept in Redis for every node.
 * While Redis is unreachable each node applies the same rule on its own (devices keep connecting).
 */
export class RedisThrottle implements Throttle {
  private readonly local: ConnectThrottle;

  constructor(
    private readonly redis: Redis,
    private readonly config: ThrottleConfig,
  ) {
    this.local = new ConnectThrottle(config);
  }

  async admit(deviceId: string, now: number): Promise<string | undefined> {
    if (!this.config.enabled) return undefined;
    try {
      return await this.admitShared(deviceId, now);
    } catch {
      return this.local.admit(deviceId, now);
    }
  }

  private async admitShared(deviceId: string, now: number): Promise<string | undefined> {
    const c = this.config;
    const [verdict, ms] = (await this.redis.eval(
      ADMIT,
      2,
      `edgehub:throttle:${deviceId}`,
      `edgehub:blocked:${deviceId}`,
      now,
      c.windowMs,
      c.maxInWindow,
      c.minIntervalMs,
      c.blockMs,
      randomUUID(),
    )) as [number, number];
    switch (verdict) {
      case 1:
        return `connections of this device are blocked for ${Math.ceil(ms / 1000)} s`;
      case 2:
        return `more than ${c.maxInWindow} connections within ${c.windowMs / 1000} s`;
      case 3:
        return 'more than one connection per second';
      default:
        return undefined;
    }
  }
}
