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
 * How commands reach devices: the delivery port of the command core. MQTT today (the device's
 * session, or its gateway's for a sub-device); a push-woken check-in channel for mobile devices later.
 */
export interface CommandChannel {
  isReachable(productKey: string, deviceKey: string): Promise<boolean>;
  /** Hands the message to the device's connection; false when it is not reachable. */
  send(productKey: string, deviceKey: string, topic: string, message: unknown): Promise<boolean>;
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
