import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ClusterLink, NodeMessage } from './link.js';

const PREFIX = 'edgehub:';
const ALIVE_TTL_MS = 15_000;
const ALIVE_REFRESH_MS = 5_000;

// Delete the session record only while it still names this node (a newer login elsewhere wins).
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * The cluster link over Redis: session records as plain keys (`edgehub:dev:{pk}/{dk}` → nodeId),
 * node liveness as expiring keys, node-to-node messages on one exact channel per node.
 */
export async function openRedisLink(url: string, log: Logger, nodeId = `node-${randomUUID()}`): Promise<ClusterLink> {
  const cmd = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  const sub = new Redis(url, { lazyConnect: true });
  await Promise.all([cmd.connect(), sub.connect()]);
  const nodeChannel = (id: string) => `${PREFIX}node:${id}`;
  const aliveKey = (id: string) => `${PREFIX}alive:${id}`;
  const deviceKey = (pk: string, dk: string) => `${PREFIX}dev:${pk}/${dk}`;
  const handlers: ((m: NodeMessage) => void)[] = [];
  const broadcastHandlers = new Map<string, ((p: unknown) => void)[]>();

  sub.on('message', (channel: string, raw: string) => {
    let payload: unknown;
    try {
      payload = JSON.parse(raw);
    } catch {
      return log.warn({ channel }, 'undecodable cluster message');
    }
    if (channel === nodeChannel(nodeId)) for (const h of handlers) h(payload as NodeMessage);
    for (const h of broadcastHandlers.get(channel) ?? []) h(payload);
  });
  await sub.subscribe(nodeChannel(nodeId));
  await cmd.set(aliveKey(nodeId), '1', 'PX', ALIVE_TTL_MS);
  const heartbeat = setInterval(() => {
    cmd.set(aliveKey(nodeId), '1', 'PX', ALIVE_TTL_MS).catch((err: unknown) => log.warn({ err }, 'cluster heartbeat failed'));
  }, ALIVE_REFRESH_MS);
  heartbeat.unref();

  const isAlive = async (id: string) => id === nodeId || (await cmd.exists(aliveKey(id))) === 1;

  return {
    nodeId,
    async locate(pk, dk) {
      const holder = await cmd.get(deviceKey(pk, dk));
      return holder && (await isAlive(holder)) ? holder : undefined;
    },
    async claim(pk, dk) {
      const previous = (await cmd.call('SET', deviceKey(pk, dk), nodeId, 'GET')) as string | null;
      return previous && previous !== nodeId && (await isAlive(previous)) ? previous : undefined;
    },
    async release(pk, dk) {
      return (await cmd.eval(RELEASE, 1, deviceKey(pk, dk), nodeId)) === 1;
    },
    async send(id, message) {
      await cmd.publish(nodeChannel(id), JSON.stringify(message));
    },
    onMessage(handler) {
      handlers.push(handler);
    },
    async broadcast(channel, payload) {
      await cmd.publish(PREFIX + channel, JSON.stringify(payload));
    },
    async onBroadcast(channel, handler) {
      const full = PREFIX + channel;
      const list = broadcastHandlers.get(full) ?? [];
      if (list.length === 0) await sub.subscribe(full);
      list.push(handler);
      broadcastHandlers.set(full, list);
    },
    async close() {
      clearInterval(heartbeat);
      await cmd.del(aliveKey(nodeId)).catch(() => undefined);
      sub.disconnect();
      cmd.disconnect();
    },
  };
}
