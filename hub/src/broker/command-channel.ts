import type { Broker } from './broker.js';
import type { DeviceReply } from '../router/router.js';
import type { MqttWire } from '../device-types/enos-mqtt/render.js';
import type { CommandChannel, CommandReply } from '../commands/channel.js';

const commandReplyKinds = new Set(['serviceInvoke', 'measurepointSet', 'measurepointGet']);

/** The command channel over MQTT: pushes to the device's (or its gateway's) session, reads `_reply`. */
export function mqttCommandChannel(broker: Broker): CommandChannel {
  return {
    async isReachable(productKey, deviceKey) {
      return broker.downstream.isReachable(productKey, deviceKey);
    },
    send(productKey, deviceKey, wire) {
      const { topic, message } = wire as MqttWire;
      return broker.downstream.send(productKey, deviceKey, topic, message, 1);
    },
    onReply(listener) {
      const on = (r: DeviceReply) => {
        if (!commandReplyKinds.has(r.topic.kind) || !r.topic.isReply) return;
        const { id, code, message, data } = r.reply;
        if (typeof id !== 'string' && typeof id !== 'number') return;
        const reply: CommandReply = {
          productKey: r.topic.pk,
          deviceKey: r.topic.dk,
          commandId: String(id),
          code: typeof code === 'number' ? code : Number(code),
          data: data ?? null,
        };
        if (typeof message === 'string') reply.message = message;
        listener(reply);
      };
      broker.router.on('deviceReply', on);
      return () => broker.router.off('deviceReply', on);
    },
    onReachable(listener) {
      const on = (d: { productKey: string; deviceKey: string }) => listener(d.productKey, d.deviceKey);
      broker.lifecycle.on('online', on);
      return () => broker.lifecycle.off('online', on);
    },
  };
}
