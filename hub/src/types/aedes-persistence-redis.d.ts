// aedes-persistence-redis ships no types; this is the one call the hub makes.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';
  export interface AedesPersistenceRedisOptions {
    conn?: Redis;
    maxSessionDelivery?: number;
    packetTTL?: (packet: unknown) => number;
  }
  export default function aedesPersistenceRedis(options?: AedesPersistenceRedisOptions): unknown;
}
