import { topics } from '@edgehub/shared';
import type { Uplink } from '../uplink/uplink.js';

/** `connection.state.post` node states (docs/ENOS-PROTOCOL.md §4.1): 1 connected, 2 disconnected, 3 unknown. */
export type NodeState = 1 | 2 | 3;

export function nodeStateOf(state: 'connected' | 'disconnected' | 'error' | undefined): NodeState {
  if (state === 'connected') return 1;
  if (state === 'disconnected' || state === 'error') return 2;
  return 3;
}

/** Tells the hub which southbound devices are reachable; full after each (re)connect, deltas after. */
export async function postConnectionState(
  uplink: Uplink,
  gateway: { productKey: string; deviceKey: string },
  nodes: { nodeId: string; state: NodeState; assetId?: string; name?: string; info?: string }[],
  isFull: boolean,
): Promise<void> {
  if (!uplink.connected || nodes.length === 0) return;
  await uplink
    .request(topics.connectionStatePost(gateway.productKey, gateway.deviceKey), 'connection.state.post', {
      isFull,
      nodes,
      ...(isFull ? { relations: { [gateway.deviceKey]: nodes.map((n) => n.nodeId) } } : {}),
      reportTime: Date.now(),
    })
    .catch(() => undefined);
}
