import { describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import { FrameInspector } from '../src/broker/frame-guard.js';

const limits = { maxConnectBytes: 8 * 1024, maxFrameBytes: 1024 * 1024 };
const frame = (p: Record<string, unknown>) => mqttPacket.generate(p as never);
const connect = frame({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  clientId: 'meter|securemode=2,signmethod=sha256,timestamp=1|',
  keepalive: 60,
  username: 'meter&pk',
  password: Buffer.from('00ff', 'hex'),
});

/** Feeds the bytes one at a time, as the worst TCP segmentation would; the first violation and where. */
function byteByByte(inspector: FrameInspector, bytes: Buffer): { violation: string | undefined; at: number; seen: Buffer } {
  const seen = Buffer.from(bytes);
  for (let i = 0; i < seen.length; i++) {
    const violation = inspector.inspect(seen.subarray(i, i + 1));
    if (violation) return { violation, at: i, seen };
  }
  return { violation: undefined, at: -1, seen };
}

/**
 * The frame guard reads frames across any chunk boundaries (docs/SECURITY.md, "Before
 * authentication"); the integration tests drive it over real sockets, these split frames as a
 * socket rarely does.
 */
describe('FrameInspector', () => {
  it('passes a CONNECT, PUBLISH and SUBSCRIBE split into single bytes, and rewrites a requested QoS 2 to 1 in place', () => {
    let authenticated = false;
    const inspector = new FrameInspector(limits, () => authenticated);
    expect(byteByByte(inspector, connect).violation).toBeUndefined();
    authenticated = true;
    const publish = frame({
      cmd: 'publish',
      topic: '/sys/pk/meter/thing/measurepoint/post',
      qos: 1,
      messageId: 2,
      payload: 'x'.repeat(300),
    });
    expect(byteByByte(inspector, publish).violation).toBeUndefined();
    const subscribe = frame({
      cmd: 'subscribe',
      messageId: 3,
      subscriptions: [
        { topic: '/sys/pk/meter/#', qos: 2 },
        { topic: '/ext/session/pk/meter/#', qos: 0 },
      ],
    });
    const { violation, seen } = byteByByte(inspector, subscribe);
    expect(violation).toBeUndefined();
    const parser = mqttPacket.parser();
    let parsed: { subscriptions: { qos: number }[] } | undefined;
    parser.on('packet', (p) => (parsed = p as never));
    parser.parse(seen);
    expect(parsed!.subscriptions.map((s) => s.qos)).toEqual([1, 0]);
  });

  it('refuses a topic with U+0000 at the byte that completes it, before the frame is whole', () => {
    const inspector = new FrameInspector(limits, () => true);
    const publish = frame({ cmd: 'publish', topic: 'a/\u0000', qos: 0, payload: 'payload' });
    const r = byteByByte(inspector, publish);
    expect(r.violation).toBe('invalid_string');
    expect(r.at).toBeLessThan(publish.length - 1);
  });

  it('refuses from the fixed header: a pre-authentication budget over all frames, and the frame limit after', () => {
    const before = new FrameInspector(limits, () => false);
    expect(before.inspect(connect)).toBeUndefined();
    const ping = frame({ cmd: 'pingreq' });
    // Pipelined frames count against the same budget as the CONNECT.
    let violation: string | undefined;
    for (let i = 0; i < 8 * 1024 && !violation; i++) violation = before.inspect(ping);
    expect(violation).toBe('frame_too_large');
    const after = new FrameInspector(limits, () => true);
    expect(after.inspect(Buffer.from([0x30, 0x81, 0x80, 0x40]))).toBe('frame_too_large'); // 1 MiB + 1 body bytes announced
    expect(new FrameInspector(limits, () => true).inspect(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]))).toBe('malformed');
  });

  it('ends a connection on a PUBLISH at QoS 2 and on a ClientId that is not UTF-8', () => {
    expect(new FrameInspector(limits, () => true).inspect(frame({ cmd: 'publish', topic: 't', qos: 2, messageId: 1, payload: '' }))).toBe(
      'qos2_publish',
    );
    const bad = Buffer.from(connect);
    bad[bad.indexOf('meter|')] = 0xf5;
    expect(new FrameInspector(limits, () => false).inspect(bad)).toBe('invalid_string');
  });

  it('checks topics lying wholly in one chunk in place: a repeat of the last good topic passes, one byte changed is checked again', () => {
    const inspector = new FrameInspector(limits, () => true);
    const post = (topic: string | Buffer) => frame({ cmd: 'publish', topic, qos: 1, messageId: 7, payload: '{"id":"1"}' });
    const good = '/sys/pk/meter/thing/measurepoint/post';
    // Several frames in one chunk, as a socket read delivers a burst.
    expect(inspector.inspect(Buffer.concat([post(good), post(good), post(good)]))).toBeUndefined();
    // Same length as the remembered topic, one byte U+0000.
    expect(inspector.inspect(post(good.slice(0, -1) + '\u0000'))).toBe('invalid_string');
    const notUtf8 = frame({ cmd: 'publish', topic: 'a/b', qos: 0, payload: 'x' });
    notUtf8[5] = 0xff; // the '/' of the topic (fixed header 2 bytes, topic length 2 bytes, then 'a')
    expect(new FrameInspector(limits, () => true).inspect(notUtf8)).toBe('invalid_string');
  });
});
