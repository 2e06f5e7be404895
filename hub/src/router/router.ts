import { EventEmitter } from 'node:events';
import {
  EnosError,
  checkMethod,
  codes,
  gunzip,
  parseReply,
  parseRequest,
  topics,
  type InboundReply,
  type ParsedTopic,
} from '@edgehub/shared';
import type { DeviceIdentity, DeviceSession } from '../sessions/sessions.js';
import { deviceKeyOf } from '../sessions/sessions.js';
import type { HandlerResult, RouterDeps, UpstreamHandler } from './context.js';
import type { RawRoute } from './raw/raw-route.js';
import { sendReply } from './reply-writer.js';
import { TopicCache } from './topic-cache.js';

/** A device's answer to something the hub sent it (a command, activate info, combine.*). */
export interface DeviceReply {
  session: DeviceSession;
  target: DeviceIdentity;
  topic: ParsedTopic;
  reply: InboundReply;
}

export interface RouterEvents {
  deviceReply: [DeviceReply];
}

/** Upper bound of an inbound payload, before and after GZIP (docs/ENOS-PROTOCOL.md §3: 512 KB). */
export const MAX_PAYLOAD = 512 * 1024;

/**
 * Routes every PUBLISH of an authenticated device. Checks run in the documented order: ACL
 * (1009/1212), size (1008), non-empty (1251), JSON (1220), method (1260), then the handler (which
 * validates against the thing model, 1204). Replies go to `topic + "_reply"` with the request's
 * `id` echoed verbatim, straight to the publishing session.
 */
export class UpstreamRouter extends EventEmitter<RouterEvents> {
  /** Reads `up_raw` and `down_raw_reply` (no JSON envelope); set by the hub's wiring. */
  raw?: RawRoute;
  private readonly topics = new TopicCache();

  constructor(
    private readonly deps: RouterDeps,
    private readonly handlers: Partial<Record<ParsedTopic['kind'], UpstreamHandler>>,
  ) {
    super();
  }

  async route(session: DeviceSession, topicName: string, raw: Buffer, qos: 0 | 1): Promise<void> {
    const replyQos: 0 | 1 = qos === 0 ? 0 : 1;
    const routed = this.topics.of(topicName);
    const topic = routed.parsed;
    let payload = raw;
    if (session.compression === 'gzip' && raw.length > 0) {
      try {
        payload = gunzip(raw, { maxBytes: MAX_PAYLOAD });
      } catch (e) {
        return this.refuse(session, topicName, raw, e instanceof EnosError ? e : new EnosError(codes.payloadFormatError), replyQos);
      }
    }

    this.deps.metrics?.messageIn(topic?.kind ?? 'unknown');
    const target = topic ? this.authorize(session, topic) : undefined;
    if (!topic || !target || topic.direction !== 'up') {
      const code =
        topic && topic.namespace === 'sys' && session.device.productType === 'Gateway' && !this.isOwn(session, topic)
          ? codes.noSubDevicePermission
          : codes.noWritePermission;
      const why =
        code === codes.noSubDevicePermission
          ? `sub-device ${topic?.pk}&${topic?.dk} is not logged in through this gateway`
          : `no permission to publish to ${topicName}`;
      this.deps.log.debug({ assetId: session.device.assetId, topic: topicName, code }, 'publish refused');
      this.deps.metrics?.aclRefusals.inc({ decision: 'publish' });
      return this.refuse(session, topicName, payload, new EnosError(code, why), replyQos);
    }

    if (topic.kind === 'upRaw' || topic.kind === 'downRaw') {
      if (!this.raw)
        return this.refuse(
          session,
          topicName,
          payload,
          new EnosError(codes.noWritePermission, 'raw payloads are not supported by this hub'),
          replyQos,
        );
      return this.raw.route({ session, topic, target, payload, qos: replyQos }, this.deps);
    }

    if (topic.isReply) {
      const parsed = parseReply(payload, { maxBytes: MAX_PAYLOAD });
      if (parsed.ok) this.emit('deviceReply', { session, target, topic, reply: parsed.value });
      return;
    }

    const parsed = parseRequest(payload, { maxBytes: MAX_PAYLOAD });
    if (!parsed.ok) return this.refuse(session, topicName, payload, parsed.error, replyQos);
    const request = parsed.value;
    const replyTopic = routed.reply;

    let result: HandlerResult;
    try {
      if (topic.method) {
        const mismatch = checkMethod(request, topic.method);
        if (mismatch) throw mismatch;
      }
      const handler = this.handlers[topic.kind];
      if (!handler) throw new EnosError(codes.noWritePermission, `${topic.kind} is not supported by this hub`);
      result = await handler({ session, topic, target, request }, this.deps);
    } catch (e) {
      if (!(e instanceof EnosError)) {
        this.deps.log.error({ err: e, assetId: session.device.assetId, topic: topicName }, 'upstream handler failed');
      }
      const err = e instanceof EnosError ? e : new EnosError(codes.internal, 'Internal error');
      return this.reply(session, replyTopic, request.id, err.code, {}, err.message, replyQos);
    }
    return this.reply(session, replyTopic, request.id, result.code ?? codes.mqttSuccess, result.data ?? {}, result.message, replyQos);
  }

  /** The device a topic is about, if this session may publish on it (docs/ENOS-PROTOCOL.md §4.3). */
  authorize(session: DeviceSession, topic: { namespace: string; pk: string; dk: string }): DeviceIdentity | undefined {
    if (this.isOwn(session, topic)) return session.device;
    // `/ext/session/…` always carries the gateway's own keys; only `/sys/…` reaches sub-devices.
    if (topic.namespace !== 'sys') return undefined;
    return session.subDevices.get(deviceKeyOf(topic.pk, topic.dk));
  }

  private isOwn(session: DeviceSession, topic: { pk: string; dk: string }): boolean {
    return topic.pk === session.device.productKey && topic.dk === session.device.deviceKey;
  }

  /** Replies with an error only when the payload carries an id the device can correlate. */
  private refuse(session: DeviceSession, topicName: string, payload: Buffer, err: EnosError, qos: 0 | 1): void {
    const id = requestIdOf(payload);
    if (id === undefined || topicName.endsWith('_reply')) return;
    this.reply(session, topics.reply(topicName), id, err.code, {}, err.message, qos);
  }

  private reply(
    session: DeviceSession,
    topic: string,
    id: unknown,
    code: number,
    data: unknown,
    message: string | undefined,
    qos: 0 | 1,
  ): void {
    this.deps.metrics?.reply(code);
    const body: Record<string, unknown> = { id, code, data };
    if (message !== undefined) body['message'] = message;
    // Not awaited: the request's PUBACK must not wait for the reply's delivery. For a persistent
    // session in a cluster aedes first queues a QoS 1 reply in Redis, and a slow or absent Redis
    // would hold every acknowledgement (docs/DEPLOYMENT.md). A clean session's reply is written
    // straight to the connection, before the PUBACK (reply-writer.ts).
    sendReply(session, topic, Buffer.from(JSON.stringify(body), 'utf8'), qos)?.catch((err: unknown) =>
      this.deps.log.debug({ err, topic }, 'reply not delivered: session closed'),
    );
  }
}

/**
 * The request id of a payload that failed a check, best effort: a small JSON object is parsed; a
 * large or broken one is searched for a leading `"id"` field so the device still gets its code.
 */
export function requestIdOf(payload: Buffer): unknown {
  if (payload.length === 0) return undefined;
  if (payload.length <= MAX_PAYLOAD) {
    try {
      const v: unknown = JSON.parse(payload.toString('utf8'));
      if (v && typeof v === 'object' && !Array.isArray(v) && 'id' in v) return v.id;
    } catch {
      // fall through to the scan
    }
  }
  const head = payload.subarray(0, 256).toString('utf8');
  const m = /"id"\s*:\s*("((?:[^"\\]|\\.){0,64})"|-?\d{1,20})/.exec(head);
  if (!m) return undefined;
  return m[2] !== undefined ? m[2] : Number(m[1]);
}
