import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ClusterLink, NodeMessage } from './link.js';

const PREFIX = 'edgehub:';
/** How long a node counts as alive after its last heartbeat (HUB_CLUSTER_NODE_TTL_MS). */
export const DEFAULT_NODE_TTL_MS = 15_000;

// Record this node as the device's holder; the device joins this node's roster (so that, should the
// node die, a survivor finds what it held) and leaves the previous holder's. Returns the previous holder.
const CLAIM = `
local previous = redis.call('set', KEYS[1], ARGV[1], 'GET')
redis.call('hset', KEYS[2], ARGV[2], ARGV[3])
if previous and previous ~= ARGV[1] then redis.call('hdel', ARGV[4] .. previous, ARGV[2]) end
return previous`;
// Delete the session record only while it still names this node (a newer login elsewhere wins).
const RELEASE = `
redis.call('hdel', KEYS[2], ARGV[2])
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
// A dead node's roster entry: its session record is removed only if it still names the dead node.
const ORPHAN = `
redis.call('hdel', KEYS[2], ARGV[2])
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) return 1 else return 0 end`;

/**
 * The cluster link over Redis: session records as plain keys (`edgehub:dev:{pk}/{dk}` → nodeId),
 * each node's roster of held devices as a hash, node liveness as expiring keys, node-to-node
 * messages on one exact channel per node.
 *
 * Redis may go away: the clients reconnect by themselves, every call made meanwhile fails (and its
 * caller decides), and `onReconnect` handlers run once Redis answers again, so the node can
 * re-announce the sessions it holds (a restarted Redis has forgotten them).
 *
 * `beforeIncoming` runs before every message and broadcast from another node is handed on: the
 * hub points it at its store's `seeLatestCommits`, because what another node announces (a command
 * queued, a reply stored) it has just written to the store this node reads.
 */
export async function openRedisLink(
  url: string,
  log: Logger,
  nodeId = `node-${randomUUID()}`,
  nodeTtlMs = DEFAULT_NODE_TTL_MS,
  beforeIncoming: () => void = () => undefined,
): Promise<ClusterLink> {
  // Calls fail fast while Redis is away instead of queueing without bound.
  const cmd = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const sub = new Redis(url, { lazyConnect: true });
  let down = false;
  const reconnectHandlers: (() => void)[] = [];
  cmd.on('error', (err: Error) => {
    if (!down) log.warn({ err: err.message }, 'cluster: Redis unreachable; cross-node features wait for it');
    down = true;
  });
  sub.on('error', () => undefined);
  await Promise.all([cmd.connect(), sub.connect()]);
  cmd.on('ready', () => {
    if (!down) return;
    down = false;
    log.info('cluster: Redis is back');
    for (const h of reconnectHandlers) h();
  });
  const nodeChannel = (id: string) => `${PREFIX}node:${id}`;
  const aliveKey = (id: string) => `${PREFIX}alive:${id}`;
  const rosterPrefix = `${PREFIX}roster:`;
  const nodesKey = `${PREFIX}nodes`;
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
    beforeIncoming();
    if (channel === nodeChannel(nodeId)) for (const h of handlers) h(payload as NodeMessage);
    for (const h of broadcastHandlers.get(channel) ?? []) h(payload);
  });
  await sub.subscribe(nodeChannel(nodeId));
  const beat = () => cmd.multi().set(aliveKey(nodeId), '1', 'PX', nodeTtlMs).sadd(nodesKey, nodeId).exec();
  await beat();
  const heartbeat = setInterval(
    () => {
      beat().catch(() => undefined);
    },
    Math.max(100, Math.floor(nodeTtlMs / 3)),
  );
  heartbeat.unref();

  const suspects = new Map<string, number>();
  const isAlive = async (id: string) => id === nodeId || (await cmd.exists(aliveKey(id))) === 1;

  /** Removes a node's roster and returns the devices whose session record still named it. */
  async function takeRoster(node: string): Promise<unknown[]> {
    const roster = await cmd.hgetall(rosterPrefix + node);
    const orphans: unknown[] = [];
    for (const [field, identity] of Object.entries(roster)) {
      const [pk, ...rest] = field.split('/');
      if ((await cmd.eval(ORPHAN, 2, deviceKey(pk!, rest.join('/')), rosterPrefix + node, node, field)) === 1)
        orphans.push(JSON.parse(identity));
    }
    return orphans;
  }

  return {
    nodeId,
    get connected() {
      return !down;
    },
    async locate(pk, dk) {
      const holder = await cmd.get(deviceKey(pk, dk));
      return holder && (await isAlive(holder)) ? holder : undefined;
    },
    async claim(pk, dk, identity) {
      const previous = (await cmd.eval(
        CLAIM,
        2,
        deviceKey(pk, dk),
        rosterPrefix + nodeId,
        nodeId,
        `${pk}/${dk}`,
        JSON.stringify(identity ?? null),
        rosterPrefix,
      )) as string | null;
      return previous && previous !== nodeId && (await isAlive(previous)) ? previous : undefined;
    },
    async release(pk, dk) {
      return (await cmd.eval(RELEASE, 2, deviceKey(pk, dk), rosterPrefix + nodeId, nodeId, `${pk}/${dk}`)) === 1;
    },
    async takeOwnRoster() {
      return takeRoster(nodeId);
    },
    async sweepDeadNodes() {
      const gone: { node: string; devices: unknown[] }[] = [];
      const now = Date.now();
      for (const node of await cmd.smembers(nodesKey)) {
        if (node === nodeId) continue;
        if (await isAlive(node)) {
          suspects.delete(node);
          continue;
        }
        // Seen dead twice, half a TTL apart: a node that was only cut off from Redis for a moment
        // (or a Redis that was paused, letting every heartbeat expire) beats again in between.
        const since = suspects.get(node);
        if (since === undefined) suspects.set(node, now);
        if (since === undefined || now - since < nodeTtlMs / 2) continue;
        suspects.delete(node);
        // One survivor sweeps a dead node; the others skip it while the sweep lock lives.
        if ((await cmd.set(`${PREFIX}sweep:${node}`, nodeId, 'PX', nodeTtlMs, 'NX')) !== 'OK') continue;
        const devices = await takeRoster(node);
        await cmd.srem(nodesKey, node);
        log.warn({ node, devices: devices.length }, 'cluster: node is gone; its devices are offline');
        gone.push({ node, devices });
      }
      return gone;
    },
    onReconnect(handler) {
      reconnectHandlers.push(handler);
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
      await cmd
        .multi()
        .del(aliveKey(nodeId))
        .srem(nodesKey, nodeId)
        .exec()
        .catch(() => undefined);
      sub.disconnect();
      cmd.disconnect();
    },
  };
}
