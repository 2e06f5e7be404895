import type { Logger } from 'pino';
import type { DeviceLifecycle } from '../broker/lifecycle.js';
import type { DeviceIdentity } from '../sessions/sessions.js';
import type { CommandCore } from '../commands/command-core.js';
import type { ClusterLink } from './link.js';

/**
 * Node liveness in a cluster (docs/ARCHITECTURE.md, "Cluster"): each node's heartbeat key expires
 * when it dies; a survivor then takes the dead node's devices offline, unless they logged in again
 * elsewhere, and the cached commands it had sent go back to their queues. At start a node clears what a previous run under the same HUB_NODE_ID left behind.
 * When Redis comes back after an outage, every node claims its live sessions again.
 */
export async function startLiveness(
  link: ClusterLink,
  lifecycle: DeviceLifecycle,
  commands: Pick<CommandCore, 'requeueSentBy'>,
  log: Logger,
  intervalMs: number,
): Promise<{ stop(): void }> {
  // `sweptAt`: taken before the roster is read, so a login written after it is a session of its own.
  const orphaned = async (identities: unknown[], sweptAt: number) => {
    for (const identity of identities) if (identity) await lifecycle.orphaned(identity as DeviceIdentity, sweptAt);
  };
  const startedAt = Date.now();
  const stale = await link.takeOwnRoster();
  if (stale.length > 0) log.info({ devices: stale.length }, 'cluster: sessions left by a previous run of this node are offline');
  await orphaned(stale, startedAt);
  link.onReconnect(() => {
    lifecycle.reclaimAll().catch((err: unknown) => log.error({ err }, 'cluster: re-claiming sessions failed'));
  });
  let running = false;
  const timer = setInterval(() => {
    if (running || !link.connected) return;
    running = true;
    const sweptAt = Date.now();
    link
      .sweepDeadNodes()
      .then(async (gone) => {
        for (const { node, devices } of gone) {
          await orphaned(devices, sweptAt);
          // What it had sent and not settled goes back to the queue, delivered where devices are now.
          const requeued = await commands.requeueSentBy(node);
          if (requeued > 0) log.warn({ node, commands: requeued }, 'cluster: commands of a gone node queued again');
        }
      })
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'cluster: liveness sweep failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
