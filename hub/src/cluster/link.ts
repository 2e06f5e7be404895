/**
 * What one hub node needs from the others. Without Redis the hub is a single node and this port
 * is not used at all; with REDIS_URL it is the Redis adapter (redis-link.ts).
 *
 * Only what must cross nodes crosses them (docs/PERFORMANCE-NOTES.md §2): which node holds which device's
 * session, downstream deliveries to that node, command replies and queue kicks — each on an exact
 * channel, never a pattern. Device data stays on the node that received it.
 */
export type NodeMessage =
  /** `message` is a JSON payload; a raw (Custom) one travels as `rawBase64` instead. */
  | {
      type: 'deliver';
      requestId: string;
      replyTo: string;
      productKey: string;
      deviceKey: string;
      topic: string;
      message?: unknown;
      rawBase64?: string;
    }
  | { type: 'delivered'; requestId: string; ok: boolean }
  /** A newer login of the device happened on another node: drop the local session. */
  | { type: 'takeover'; productKey: string; deviceKey: string }
  /** Run the device's cached-command queue here, where its session is. */
  | { type: 'kickQueue'; productKey: string; deviceKey: string };

export interface ClusterLink {
  readonly nodeId: string;
  /** Whether Redis answers right now (for /health). */
  readonly connected: boolean;
  /** The live node holding a device's session (its own, or its gateway's for a sub-device). */
  locate(productKey: string, deviceKey: string): Promise<string | undefined>;
  /**
   * Records this node as the holder, with the device's identity in this node's roster; resolves
   * with the previous live holder, if another node.
   */
  claim(productKey: string, deviceKey: string, identity?: unknown): Promise<string | undefined>;
  /** Removes the record if this node still holds it; resolves whether it did. */
  release(productKey: string, deviceKey: string): Promise<boolean>;
  /**
   * At start: this node holds no session yet, so whatever its roster still lists (a previous run
   * under the same node id died) is stale. Removes it; resolves with those devices' identities.
   */
  takeOwnRoster(): Promise<unknown[]>;
  /** Removes the rosters of nodes whose liveness expired; resolves with them and their devices' identities. */
  sweepDeadNodes(): Promise<{ node: string; devices: unknown[] }[]>;
  /** Called each time Redis answers again after an outage. */
  onReconnect(handler: () => void): void;
  send(nodeId: string, message: NodeMessage): Promise<void>;
  onMessage(handler: (message: NodeMessage) => void): void;
  /** A cluster-wide broadcast on one exact channel (command replies). */
  broadcast(channel: string, payload: unknown): Promise<void>;
  onBroadcast(channel: string, handler: (payload: unknown) => void): Promise<void>;
  close(): Promise<void>;
}
