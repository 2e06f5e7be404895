/**
 * The raw passthrough topics (docs/PROTOCOL.md §7.1): `thing/model/up_raw` is decoded by
 * the product's codec into an ordinary request and handed to the same handler as its JSON topic
 * (same model checks, same storage); the outcome goes back on `up_raw_reply`, encoded by the codec.
 * `down_raw_reply` (a device answering a raw command) is decoded and emitted as a device reply.
 */
import { EnosError, MAX_PAYLOAD_BYTES, codes, topics, type ParsedTopic, type TopicKind } from '@edgehub/shared';
import type { EventEmitter } from 'node:events';
import { pushTo } from '../../sessions/push.js';
import type { DeviceIdentity, DeviceSession } from '../../sessions/sessions.js';
import type { ProductCodecs } from '../../codecs/product-codecs.js';
import type { RawReply } from '../../codecs/raw-codec.js';
import type { RouterDeps, UpstreamHandler } from '../context.js';

/** The requests a raw uplink may stand for: data, never topology or login. */
const RAW_KINDS: ReadonlySet<TopicKind> = new Set([
  'measurepointPost',
  'measurepointResume',
  'measurepointPostBatch',
  'measurepointResumeBatch',
  'eventPost',
  'attributeUpdate',
]);

export interface RawMessage {
  session: DeviceSession;
  topic: ParsedTopic;
  target: DeviceIdentity;
  payload: Buffer;
  qos: 0 | 1;
}

/** A raw command reply, for whoever sent the command (the raw command channel). */
export interface RawDeviceReply {
  productKey: string;
  deviceKey: string;
  reply: RawReply;
}

export interface RawRouteEvents {
  rawReply: [RawDeviceReply];
}

export class RawRoute {
  constructor(
    private readonly codecs: ProductCodecs,
    private readonly handlers: Partial<Record<TopicKind, UpstreamHandler>>,
    readonly replies: EventEmitter<RawRouteEvents>,
  ) {}

  async route(m: RawMessage, deps: RouterDeps): Promise<void> {
    const codec = await this.codecs.codecFor(m.target.productKey);
    if (m.topic.isReply) {
      if (!codec) return;
      try {
        this.replies.emit('rawReply', {
          productKey: m.target.productKey,
          deviceKey: m.target.deviceKey,
          reply: codec.decodeReply(m.payload),
        });
      } catch (err) {
        deps.log.debug({ err, assetId: m.target.assetId }, 'down_raw_reply not readable by the product codec');
      }
      return;
    }
    const replyTopic = topics.reply(topics.build({ kind: 'upRaw', pk: m.target.productKey, dk: m.target.deviceKey }));
    if (!codec) {
      // Nothing to write a raw reply in: answer in the JSON envelope so the refusal is readable.
      await send(
        m.session,
        replyTopic,
        Buffer.from(
          JSON.stringify({
            code: codes.noWritePermission,
            message: `product ${m.target.productKey} has no raw codec (dataFormat Custom needs one)`,
            data: {},
          }),
        ),
        m.qos,
        deps,
      );
      return;
    }
    let id: string | number | undefined;
    let outcome: { code: number; data: unknown; message?: string };
    try {
      if (m.payload.length > MAX_PAYLOAD_BYTES)
        throw new EnosError(codes.msgTooLarge, `Msg size is too large: ${m.payload.length} bytes, at most ${MAX_PAYLOAD_BYTES}`);
      const req = codec.decodeRequest(m.payload);
      id = req.id;
      const topic = topics.parse(`/sys/${m.target.productKey}/${m.target.deviceKey}/${req.method.split('.').join('/')}`);
      const handler = topic && RAW_KINDS.has(topic.kind) ? this.handlers[topic.kind] : undefined;
      if (!topic || !handler)
        throw new EnosError(codes.methodMismatch, `Methods not consistent: ${req.method} cannot be sent as a raw payload`);
      const result = await handler(
        { session: m.session, topic, target: m.target, request: { id: req.id, version: '1.0', method: req.method, params: req.params } },
        deps,
      );
      outcome = {
        code: result.code ?? codes.mqttSuccess,
        data: result.data ?? {},
        ...(result.message !== undefined ? { message: result.message } : {}),
      };
    } catch (e) {
      if (!(e instanceof EnosError)) deps.log.error({ err: e, assetId: m.target.assetId }, 'raw handler failed');
      const err = e instanceof EnosError ? e : new EnosError(codes.internal, 'Internal error');
      outcome = { code: err.code, data: {}, message: err.message };
    }
    deps.metrics?.replies.inc({ code: String(outcome.code) });
    await send(m.session, replyTopic, codec.encodeReply(id, outcome.code, outcome.data, outcome.message), m.qos, deps);
  }
}

async function send(session: DeviceSession, topic: string, payload: Buffer, qos: 0 | 1, deps: RouterDeps): Promise<void> {
  try {
    await pushTo(session, topic, payload, qos);
  } catch (err) {
    deps.log.debug({ err, topic }, 'raw reply not delivered: session closed');
  }
}
