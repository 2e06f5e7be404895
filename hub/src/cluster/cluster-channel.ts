import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CommandChannel, CommandReply } from '../commands/channel.js';
import type { MqttWire } from '../device-types/enos-mqtt/render.js';
import type { ClusterLink } from './link.js';

const REPLIES = 'command-replies';
const DELIVER_TIMEOUT_MS = 5_000;

/**
 * The command channel of a cluster node: a device connected here is served by the local channel;
 * one connected elsewhere gets the message through the node holding its session. Replies are
 * broadcast so the node waiting for one gets it wherever the device is. Each device's cached-
 * command queue runs on the node holding its session (one command in flight per device).
 */
export class ClusterCommandChannel implements CommandChannel {
  private readonly pending = new Map<string, { resolve: (ok: boolean) => void; timer: NodeJS.Timeout }>();
  private readonly replyListeners = new Set<(r: CommandReply) => void>();

  constructor(
    private readonly local: CommandChannel,
    private readonly link: ClusterLink,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // Local replies go out to every node (the one waiting may be elsewhere); all nodes hear them.
    this.local.onReply(
      (r) => void this.link.broadcast(REPLIES, r).catch((err: unknown) => this.log.error({ err }, 'reply broadcast failed')),
    );
    await this.link.onBroadcast(REPLIES, (payload) => {
      for (const l of this.replyListeners) l(payload as CommandReply);
    });
  }

  /** Called with `delivered` messages addressed to this node. */
  settle(requestId: string, ok: boolean): void {
    const p = this.pending.get(requestId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(requestId);
    p.resolve(ok);
  }

  async isReachable(productKey: string, deviceKey: string): Promise<boolean> {
    return (await this.local.isReachable(productKey, deviceKey)) || (await this.elsewhere(productKey, deviceKey)) !== undefined;
  }

  /**
   * The other node holding the device's session. A record naming this node while no local session
   * exists is stale (a previous run under the same node id, or a release in progress): the device
   * is not reachable, and a queue kick must never be forwarded to this node itself.
   */
  private async elsewhere(productKey: string, deviceKey: string): Promise<string | undefined> {
    const holder = await this.link.locate(productKey, deviceKey).catch(() => undefined);
    return holder === this.link.nodeId ? undefined : holder;
  }

  async send(productKey: string, deviceKey: string, wire: unknown): Promise<boolean> {
    if (await this.local.isReachable(productKey, deviceKey)) return this.local.send(productKey, deviceKey, wire);
    const { topic, message } = wire as MqttWire;
    const holder = await this.elsewhere(productKey, deviceKey);
    if (!holder) return false;
    const requestId = randomUUID();
    const delivered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        resolve(false);
      }, DELIVER_TIMEOUT_MS);
      this.pending.set(requestId, { resolve, timer });
    });
    try {
      // Node messages are JSON: a raw (Custom) payload crosses as base64 and leaves as the same bytes.
      const body = Buffer.isBuffer(message) ? { rawBase64: message.toString('base64') } : { message };
      await this.link.send(holder, { type: 'deliver', requestId, replyTo: this.link.nodeId, productKey, deviceKey, topic, ...body });
    } catch {
      this.settle(requestId, false);
    }
    return delivered;
  }

  onReply(listener: (reply: CommandReply) => void): () => void {
    this.replyListeners.add(listener);
    return () => this.replyListeners.delete(listener);
  }

  onReachable(listener: (productKey: string, deviceKey: string) => void): () => void {
    return this.local.onReachable(listener);
  }

  async queueHolder(productKey: string, deviceKey: string): Promise<'here' | string | undefined> {
    if (await this.local.isReachable(productKey, deviceKey)) return 'here';
    return this.elsewhere(productKey, deviceKey);
  }

  async forwardKick(nodeId: string, productKey: string, deviceKey: string): Promise<void> {
    await this.link.send(nodeId, { type: 'kickQueue', productKey, deviceKey });
  }
}
