import { describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import { encodePublish } from '../src/router/reply-writer.js';

/** What a standard MQTT parser reads back from one encoded PUBLISH. */
function parse(frame: Buffer): Record<string, unknown> {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: Record<string, unknown>[] = [];
  parser.on('packet', (p) => packets.push(p as unknown as Record<string, unknown>));
  parser.on('error', (e) => {
    throw e;
  });
  const left = parser.parse(frame);
  expect(left).toBe(0);
  expect(packets).toHaveLength(1);
  return packets[0]!;
}

describe('encodePublish (replies written straight to a connection)', () => {
  // Remaining lengths of 1, 2, 3 and 4 bytes (MQTT 3.1.1 §2.2.3), at both QoS.
  for (const size of [0, 40, 127, 16_000, 16_384, 300_000, 2_097_152]) {
    for (const qos of [0, 1] as const) {
      it(`is read back as sent: ${size}-byte payload, QoS ${qos}`, () => {
        const payload = Buffer.alloc(size, 'x');
        const topic = '/sys/pk/dévice/thing/measurepoint/post_reply';
        const p = parse(encodePublish(topic, payload, qos, 65535));
        expect(p).toMatchObject({ cmd: 'publish', topic, qos, retain: false, dup: false });
        expect(p['messageId']).toBe(qos === 1 ? 65535 : undefined);
        expect(Buffer.compare(p['payload'] as Buffer, payload)).toBe(0);
      });
    }
  }
});
