import { topics } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { Uplink } from '../uplink/uplink.js';
import type { Southbound } from './southbound-port.js';

/** Device-side codes (docs/ENOS-PROTOCOL.md §3): SDK codes 1101/1102, custom errors ≥ 2000. */
const HANDLER_NOT_REGISTERED = 1101;
const SOUTHBOUND_WRITE_FAILED = 2001;

export interface CommandContext {
  uplink: Uplink;
  southbound: () => Southbound | undefined;
  /** Sub-devices this edge proxies, by deviceKey, within the sub-device product. */
  isOurs(productKey: string, deviceKey: string): boolean;
  latestValues(deviceKey: string): Record<string, unknown> | undefined;
  disable(deviceKey: string): void;
  /** Sub-devices on the edge's local MQTT listener get their commands relayed as they are. */
  relayToLocal?(
    deviceKey: string,
    topic: string,
    msg: { id?: unknown },
  ): Promise<{ code: number; data: unknown; message?: string }> | undefined;
  enable(deviceKey: string): Promise<void>;
  log: Logger;
}

/**
 * Commands the hub pushes to the gateway (docs/ENOS-PROTOCOL.md §4.2, §5.5): a measurepoint set on a
 * sub-device's topic becomes a Modbus write and is answered on `_reply` with the result;
 * `combine.disable|delete` stop a sub-device, `combine.enable` logs it back in.
 */
export async function handleDownstream(
  ctx: CommandContext,
  topic: string,
  msg: { id?: unknown; method?: string; params?: unknown },
): Promise<void> {
  const t = topics.parse(topic);
  if (!t || t.isReply) return;
  const reply = (code: number, data: unknown = {}, message?: string) => ctx.uplink.reply(topic, msg.id, code, data, message);
  if ((t.kind === 'measurepointSet' || t.kind === 'serviceInvoke' || t.kind === 'measurepointGet') && ctx.isOurs(t.pk, t.dk)) {
    const relayed = ctx.relayToLocal?.(t.dk, topic, msg);
    if (relayed) {
      const r = await relayed;
      return reply(r.code, r.data, r.message);
    }
  }
  switch (t.kind) {
    case 'measurepointSet': {
      if (!ctx.isOurs(t.pk, t.dk)) return reply(HANDLER_NOT_REGISTERED, {}, `${t.pk}&${t.dk} is not proxied by this edge`);
      const sb = ctx.southbound();
      const params =
        msg.params && typeof msg.params === 'object' && !Array.isArray(msg.params) ? (msg.params as Record<string, unknown>) : undefined;
      if (!sb || !params) return reply(SOUTHBOUND_WRITE_FAILED, {}, 'measurepoint set needs an object of point values');
      try {
        for (const [pointId, value] of Object.entries(params)) await sb.write(t.dk, pointId, value);
        ctx.log.info({ deviceKey: t.dk, points: Object.keys(params) }, 'measurepoint set written southbound');
        return reply(200, {});
      } catch (err) {
        return reply(SOUTHBOUND_WRITE_FAILED, {}, (err as Error).message);
      }
    }
    case 'measurepointGet': {
      const wanted = Array.isArray(msg.params) ? (msg.params as string[]) : [];
      const latest = ctx.latestValues(t.dk) ?? {};
      const data = Object.fromEntries(Object.entries(latest).filter(([k]) => wanted.length === 0 || wanted.includes(k)));
      return reply(200, data);
    }
    case 'serviceInvoke':
      return reply(HANDLER_NOT_REGISTERED, {}, `service ${t.serviceId} has no handler on this edge`);
    case 'combineDisable':
    case 'combineDelete':
      for (const d of Array.isArray(msg.params) ? (msg.params as { deviceKey?: string }[]) : []) if (d.deviceKey) ctx.disable(d.deviceKey);
      return reply(200);
    case 'combineEnable':
      for (const d of Array.isArray(msg.params) ? (msg.params as { deviceKey?: string }[]) : [])
        if (d.deviceKey) await ctx.enable(d.deviceKey);
      return reply(200);
    default:
      return;
  }
}
