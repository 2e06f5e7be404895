import { gzip } from '@edgehub/shared';
import type { Client } from 'aedes';
import { pushTo } from '../sessions/push.js';
import type { DeviceSession } from '../sessions/sessions.js';

/**
 * The parts of an aedes 1.x client (lib/client.js) a reply written straight to the connection
 * relies on: the connection, the session flags and the counter aedes draws outgoing packet ids from.
 */
interface ClientInternals {
  conn: { write(chunk: Buffer): boolean; cork(): void; uncork(): void; destroyed?: boolean; writableNeedDrain?: boolean };
  connected: boolean;
  closed: boolean;
  clean: boolean;
  /** Exact subscription filters of the connection (aedes keeps them keyed by filter). */
  subscriptions: Record<string, { qos?: number } | undefined>;
  _nextId: number;
}

/** Replies of a connection still inside aedes' publish pipeline; a direct write must not overtake them. */
const pending = new WeakMap<Client, number>();

/**
 * Sends a reply to the device that asked (docs/ARCHITECTURE.md, "How an MQTT message flows"): one
 * pre-encoded PUBLISH written straight to its connection, instead of aedes' publish pipeline (two
 * packet objects, two `setImmediate` turns, an encoder writing the packet in pieces; docs/BENCHMARKS.md,
 * "MQTT fan-in: where the time goes"). Same QoS, and the packet id comes from aedes' own counter,
 * exactly as aedes would number it, so the device's PUBACK is handled by aedes as before.
 *
 * Straight only when nothing is lost by it: a clean session (a persistent one has aedes keep an
 * unacknowledged QoS 1 reply to resend after a reconnect), a connection not waiting for a drain
 * (aedes' pipeline waits and, past `drainTimeout`, drops a reader that does not read) and no earlier
 * reply of this connection still in the pipeline (replies keep their order). Otherwise through
 * aedes, as any other push.
 */
export function sendReply(session: DeviceSession, topic: string, json: Buffer, qos: 0 | 1): Promise<void> | undefined {
  const client = session.client as unknown as ClientInternals;
  const conn = client.conn;
  if (!client.clean || !client.connected || client.closed || conn.destroyed || conn.writableNeedDrain || pending.has(session.client)) {
    return throughAedes(session, topic, json, qos);
  }
  const payload = session.compression === 'gzip' ? gzip(json) : json;
  // As aedes does: a device subscribed to the reply topic at QoS 0 gets it at QoS 0.
  const subscribed = client.subscriptions[topic];
  if (subscribed && (subscribed.qos ?? 0) < qos) qos = 0;
  let messageId = 0;
  if (qos === 1) {
    // As aedes' QoSPacket numbers an outgoing packet (1…65535, then 1 again).
    messageId = client._nextId;
    client._nextId = messageId >= 65535 ? 1 : messageId + 1;
  }
  if (!corked.has(conn)) {
    // The replies of one store commit are resolved together: each connection's go out in one
    // write (writev) once they are all queued, not one system call each.
    conn.cork();
    corked.add(conn);
    if (corked.size === 1) process.nextTick(uncorkAll);
  }
  conn.write(encodePublish(topic, payload, qos, messageId));
  return undefined;
}

/** Connections holding replies until the current batch of work is done. */
const corked = new Set<ClientInternals['conn']>();

function uncorkAll(): void {
  for (const conn of corked) conn.uncork();
  corked.clear();
}

function throughAedes(session: DeviceSession, topic: string, json: Buffer, qos: 0 | 1): Promise<void> {
  const client = session.client;
  pending.set(client, (pending.get(client) ?? 0) + 1);
  const done = () => {
    const n = (pending.get(client) ?? 1) - 1;
    if (n === 0) pending.delete(client);
    else pending.set(client, n);
  };
  const sent = pushTo(session, topic, json, qos);
  sent.then(done, done);
  return sent;
}

/** An MQTT 3.1.1 PUBLISH (§3.3) in one buffer: fixed header, topic, packet id at QoS 1, payload. */
export function encodePublish(topic: string, payload: Buffer, qos: 0 | 1, messageId: number): Buffer {
  const topicBytes = Buffer.byteLength(topic, 'utf8');
  const remaining = 2 + topicBytes + (qos === 1 ? 2 : 0) + payload.length;
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const packet = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  let at = 0;
  packet[at++] = 0x30 | (qos << 1);
  let rest = remaining;
  do {
    const digit = rest % 0x80;
    rest = Math.floor(rest / 0x80);
    packet[at++] = rest > 0 ? digit | 0x80 : digit;
  } while (rest > 0);
  packet.writeUInt16BE(topicBytes, at);
  at += 2;
  at += packet.write(topic, at, 'utf8');
  if (qos === 1) {
    packet.writeUInt16BE(messageId, at);
    at += 2;
  }
  payload.copy(packet, at);
  return packet;
}
