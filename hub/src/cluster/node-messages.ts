import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { CommandCore } from '../commands/command-core.js';
import type { ClusterCommandChannel } from './cluster-channel.js';
import type { ClusterLink, NodeMessage } from './link.js';
import { letGo } from './ownership.js';

/** What a node does with the messages other nodes address to it. */
export function handleNodeMessages(
  link: ClusterLink,
  broker: Broker,
  commands: CommandCore,
  channel: ClusterCommandChannel,
  log: Logger,
): void {
  link.onMessage((m: NodeMessage) => {
    switch (m.type) {
      case 'deliver':
        broker.downstream
          .send(m.productKey, m.deviceKey, m.topic, m.rawBase64 !== undefined ? Buffer.from(m.rawBase64, 'base64') : m.message, 1)
          .catch(() => false)
          .then((ok) => link.send(m.replyTo, { type: 'delivered', requestId: m.requestId, ok }))
          .catch((err: unknown) => log.error({ err }, 'delivery answer failed'));
        break;
      case 'delivered':
        channel.settle(m.requestId, m.ok);
        break;
      case 'takeover':
        letGo(broker.sessions, m.productKey, m.deviceKey);
        break;
      case 'kickQueue':
        void commands.kick(m.productKey, m.deviceKey);
        break;
    }
  });
}
