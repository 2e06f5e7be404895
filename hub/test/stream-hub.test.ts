import { Aedes, type AedesPublishPacket } from 'aedes';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamHub } from '../src/stream/stream-hub.js';
import type { StreamEvent } from '../src/telemetry/stream-events.js';

const event = (i: number): StreamEvent => ({
  type: 'measurepoints',
  orgId: 'o1',
  assetId: 'a1',
  productKey: 'pk',
  deviceKey: 'dk',
  time: i,
  resume: false,
  measurepoints: { seq: { value: i } },
});
const TOPIC = 'org/o1/devices/pk/dk/measurepoints';
/** The `time` of a delivered stream event (each test's events are numbered by it). */
const timeOf = (p: AedesPublishPacket): number => (JSON.parse(Buffer.from(p.payload).toString('utf8')) as { time: number }).time;

/**
 * The application stream over aedes' in-process fan-out (hub/src/stream/stream-hub.ts): a burst
 * larger than the fan-out's concurrency must neither end the process when its only subscriber
 * leaves mid-burst nor lose or reorder what a subscriber receives.
 */
describe('StreamHub', () => {
  let broker: Aedes | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => broker?.close(() => resolve()));
    broker = undefined;
  });

  for (const localFanOut of [true, false]) {
    it(`survives a 30,000-event burst whose only subscriber leaves mid-burst (localFanOut ${localFanOut})`, async () => {
      broker = await Aedes.createBroker();
      const stream = new StreamHub(broker, pino({ level: 'silent' }), { localFanOut });
      let received = 0;
      // A subscriber as slow as a connection: each delivery completes on a later turn.
      const deliver = (_p: AedesPublishPacket, cb: () => void) => {
        received++;
        setImmediate(cb);
      };
      await new Promise<void>((resolve) => broker!.subscribe(TOPIC, deliver, () => resolve()));
      for (let i = 0; i < 30_000; i++) stream.publish(event(i));
      await new Promise<void>((resolve) => broker!.unsubscribe(TOPIC, deliver, () => resolve()));
      // Let the rest of the burst reach a fan-out with nobody left (before the fix: RangeError, uncaught).
      for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(received).toBeGreaterThan(0);
      expect(received).toBeLessThan(30_000);
    });
  }

  it('delivers a burst to a subscriber completely and in order', async () => {
    broker = await Aedes.createBroker();
    const stream = new StreamHub(broker, pino({ level: 'silent' }), { localFanOut: true });
    const seen: number[] = [];
    const deliver = (p: AedesPublishPacket, cb: () => void) => {
      seen.push(timeOf(p));
      setImmediate(cb);
    };
    await new Promise<void>((resolve) => broker!.subscribe(TOPIC, deliver, () => resolve()));
    for (let i = 0; i < 5_000; i++) stream.publish(event(i));
    while (seen.length < 5_000) await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
  });

  it('publishes nothing for a topic nobody subscribed to, and again once someone does', async () => {
    broker = await Aedes.createBroker();
    const stream = new StreamHub(broker, pino({ level: 'silent' }), { localFanOut: true });
    let published = 0;
    broker.on('publish', (p) => {
      if (p.topic === TOPIC) published++;
    });
    stream.publish(event(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(published).toBe(0);
    const got = new Promise<AedesPublishPacket>((resolve) =>
      broker!.subscribe(
        TOPIC,
        (p, cb) => {
          resolve(p);
          cb();
        },
        () => stream.publish(event(2)),
      ),
    );
    expect(JSON.parse(Buffer.from((await got).payload).toString('utf8'))).toMatchObject({ time: 2 });
    expect(published).toBe(1);
  });

  it('remembers who listens per topic, and forgets it whenever a subscription comes or goes', async () => {
    broker = await Aedes.createBroker();
    const stream = new StreamHub(broker, pino({ level: 'silent' }), { localFanOut: true });
    const times: number[] = [];
    const deliver = (p: AedesPublishPacket, cb: () => void) => {
      times.push(timeOf(p));
      cb();
    };
    const settle = async () => {
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    // Remembered: nobody listens.
    stream.publish(event(1));
    stream.publish(event(2));
    // A wildcard subscription of the organization must be heard at once.
    await new Promise<void>((resolve) => broker!.subscribe('org/o1/#', deliver, () => resolve()));
    stream.publish(event(3));
    await settle();
    // Gone (aedes removes it from its matcher on a later turn): nothing more is delivered to it.
    await new Promise<void>((resolve) => broker!.unsubscribe('org/o1/#', deliver, () => resolve()));
    stream.publish(event(4));
    await settle();
    // And back, on the exact topic.
    await new Promise<void>((resolve) => broker!.subscribe(TOPIC, deliver, () => resolve()));
    stream.publish(event(5));
    await settle();
    expect(times).toEqual([3, 5]);
  });
});
