import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';

/**
 * The ioredis module, loaded on the first call: only a cluster (REDIS_URL) needs it, and loading it
 * at every start cost start-up time (docs/BENCHMARKS.md, start-up). Synchronous, for the
 * constructors that open their connection at once.
 */
export function ioredis(): typeof IORedis {
  return createRequire(import.meta.url)('ioredis') as typeof IORedis;
}
