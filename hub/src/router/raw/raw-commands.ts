import { topics } from '@edgehub/shared';
import type { EventEmitter } from 'node:events';
import type { CommandChannel, CommandReply } from '../../commands/channel.js';
import type { ProductCodecs } from '../../codecs/product-codecs.js';
import type { MqttWire } from '../../device-types/enos-mqtt/render.js';
import type { RawRouteEvents } from './raw-route.js';

interface JsonCommand {
  id: string;
  method: string;
  params: unknown;
}

/**
 * Commands to Custom products (docs/PROTOCOL.md §7.1): wraps a command channel so that a
 * command for a product with a codec is encoded by that codec and sent on `down_raw` instead of
 * its JSON topic; the device's `down_raw_reply` is decoded and matched back to the command. The
 * command core itself stays format-neutral.
 */
export function rawCommandChannel(inner: CommandChannel, codecs: ProductCodecs, replies: EventEmitter<RawRouteEvents>): CommandChannel {
  /** `pk/dk/frameId` → commandId, for frames that carry a numeric id only. */
  const outstanding = new Map<string, string>();
  let nextFrameId = 1;
  const key = (pk: string, dk: string, id: string | number) => `${pk}/${dk}/${id}`;

  return {
    ...inner,
    async send(productKey, deviceKey, wire) {
      // Only thing-model commands are raw; OTA and other system messages stay JSON.
      const { topic, message } = wire as MqttWire;
      const kind = typeof topic === 'string' ? topics.parse(topic)?.kind : undefined;
      const codec = kind === 'serviceInvoke' || kind === 'measurepointSet' ? await codecs.codecFor(productKey) : undefined;
      const cmd = message as JsonCommand;
      if (!codec || typeof cmd?.method !== 'string') return inner.send(productKey, deviceKey, wire);
      const frameId = nextFrameId;
      nextFrameId = nextFrameId >= 0xffffffff ? 1 : nextFrameId + 1;
      const bytes = codec.encodeCommand({ id: cmd.id, frameId, method: cmd.method, params: cmd.params });
      outstanding.set(key(productKey, deviceKey, frameId), cmd.id);
      // Bounded: a device that never answers must not grow the table without end.
      if (outstanding.size > 100_000) outstanding.delete(outstanding.keys().next().value!);
      return inner.send(productKey, deviceKey, { topic: topics.downRaw(productKey, deviceKey), message: bytes } satisfies MqttWire);
    },
    onReply(listener) {
      const off = inner.onReply(listener);
      const on = ({ productKey, deviceKey, reply }: RawRouteEvents['rawReply'][0]) => {
        if (reply.id === undefined) return;
        const k = key(productKey, deviceKey, reply.id);
        const commandId = outstanding.get(k) ?? (typeof reply.id === 'string' ? reply.id : undefined);
        if (!commandId) return;
        outstanding.delete(k);
        const r: CommandReply = { productKey, deviceKey, commandId, code: reply.code, data: reply.data ?? null };
        if (reply.message !== undefined) r.message = reply.message;
        listener(r);
      };
      replies.on('rawReply', on);
      return () => {
        off();
        replies.off('rawReply', on);
      };
    },
  };
}
