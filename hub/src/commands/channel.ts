import type { WirePayload } from './device-type-port.js';

/** A device's answer to a command, matched by the command id. */
export interface CommandReply {
  productKey: string;
  deviceKey: string;
  commandId: string;
  code: number;
  message?: string;
  data: unknown;
}

/**
 * How a 'push' device type hands commands to devices (docs/DEVICE-MANAGEMENT.md, "Delivery"):
 * MQTT for EnOS devices (the device's session, or its gateway's for a sub-device). The wire
 * payload is whatever the device type's render() produced; the channel does not look into it
 * beyond what its transport needs.
 */
export interface CommandChannel {
  isReachable(productKey: string, deviceKey: string): Promise<boolean>;
  /** Hands the rendered command to the device's connection; false when it is not reachable. */
  send(productKey: string, deviceKey: string, wire: WirePayload): Promise<boolean>;
  onReply(listener: (reply: CommandReply) => void): () => void;
  /** Called when a device becomes reachable (it, or its gateway for it, logged in). */
  onReachable(listener: (productKey: string, deviceKey: string) => void): () => void;
  /**
   * In a cluster, where the device's cached-command queue runs: 'here', another node's id, or
   * undefined when the device is nowhere. Absent on a single node (always here).
   */
  queueHolder?(productKey: string, deviceKey: string): Promise<'here' | string | undefined>;
  forwardKick?(nodeId: string, productKey: string, deviceKey: string): Promise<void>;
}
