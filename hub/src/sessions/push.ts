import { gzip } from '@edgehub/shared';
import type { DeviceSession } from './sessions.js';

/**
 * Publishes straight to one session's connection, whether or not it subscribed: EnOS Java and
 * Node SDKs never SUBSCRIBE to command topics and may miss reply subscriptions (docs/ENOS-PROTOCOL.md
 * §0.5, §12). Payloads are compressed when the session negotiated GZIP (§2.4).
 */
export function pushTo(session: DeviceSession, topic: string, message: unknown, qos: 0 | 1 = 1): Promise<void> {
  // A Buffer is a raw payload (down_raw, up_raw_reply) and goes out as it is.
  const json = Buffer.isBuffer(message) ? message : Buffer.from(typeof message === 'string' ? message : JSON.stringify(message), 'utf8');
  const payload = session.compression === 'gzip' ? gzip(json) : json;
  return new Promise((resolve, reject) => {
    if (session.client.closed) return reject(new Error('session closed'));
    session.client.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, (err?: Error) =>
      err ? reject(err) : resolve(),
    );
  });
}
