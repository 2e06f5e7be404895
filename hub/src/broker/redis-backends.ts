import type { EventEmitter } from 'node:events';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import type { Logger } from 'pino';

/**
 * aedes' session persistence and fan-out over Redis. Their connections reconnect by themselves; an
 * error while Redis is away is logged (once per outage), never thrown: an unhandled 'error' event
 * would end the process, and a node must keep serving its connected devices without Redis.
 */
export function redisBrokerBackends(redisUrl: string, log: Logger) {
  const persistenceConn = new Redis(redisUrl);
  persistenceConn.on('error', () => undefined);
  const mq = mqemitterRedis({ connectionString: redisUrl });
  // `state` is mqemitter-redis' own event emitter for connection events (not in its typings).
  const state = (mq as unknown as { state: EventEmitter }).state;
  let down = false;
  state.on('error', (err: Error) => {
    if (!down) log.warn({ err: err.message }, 'MQTT fan-out: Redis unreachable');
    down = true;
  });
  state.on('pubConnect', () => (down = false));
  return { persistence: aedesPersistenceRedis({ conn: persistenceConn }), mq };
}
