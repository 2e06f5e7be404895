/**
 * Every acknowledged post is stored (docs/PROTOCOL.md §5.5, "Telemetry: timestamps"): a real mqtt.js
 * device posts in bursts without `time`, so the hub stamps many posts with the same millisecond;
 * each one answered 200 must be in queryHistory, and paging with a small page size must walk
 * through each millisecond without losing or repeating a post.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';
import { connectDevice, newTenant, provision, startHub, type ProvisionedDevice, type RunningHub, type TestDevice } from '../src/index.js';

type Item = { measurepoint: string; time: number; value: unknown };
type History = { items: Item[]; nextCursor: string | null };

const POSTS = 300;
const BURST = 50;

describe('telemetry: a burst of posts without time', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let meter: ProvisionedDevice;
  let device: TestDevice;
  let from: number;
  let to: number;

  const history = (body: Record<string, unknown>) =>
    c.call<History>('POST', '/connect-service/v2.1/measurepoints', { action: 'queryHistory', orgId, assetId: meter.assetId }, body);

  beforeAll(async () => {
    h = await startHub();
    ({ client: c, orgId } = await newTenant(h, 'burst'));
    const product = await provision(c, orgId, {
      productType: 'Device',
      deviceKeys: ['meter'],
      product: { thingModel: { measurepoints: { n: { dataType: 'INT' } } } },
    });
    meter = product.devices[0]!;
    device = await connectDevice(h.mqttUrl, meter);

    from = Date.now();
    const topic = topics.measurepointPost(meter.productKey, meter.deviceKey);
    for (let burst = 0; burst < POSTS / BURST; burst++) {
      const replies = await Promise.all(
        Array.from({ length: BURST }, (_, i) =>
          device.request(topic, 'thing.measurepoint.post', { measurepoints: { n: burst * BURST + i } }, { qos: 1 }),
        ),
      );
      expect(replies.map((r) => r.code)).toEqual(Array.from({ length: BURST }, () => 200));
    }
    to = Date.now() + 1;
  });
  afterAll(async () => {
    await device?.end();
    await h?.close();
  });

  it('stores all 300 acknowledged posts, each once', async () => {
    const page = await history({ measurepoints: ['n'], startTime: from, endTime: to, pageSize: 1000 });
    expect(page.code).toBe(0);
    expect(page.data.nextCursor).toBeNull();
    const values = page.data.items.map((i) => i.value as number);
    expect(values).toHaveLength(POSTS);
    expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: POSTS }, (_, i) => i));
    // The burst really shared milliseconds: otherwise this test proves nothing about ties.
    expect(new Set(page.data.items.map((i) => i.time)).size).toBeLessThan(POSTS);
    // Posts of one device are handled in order, so arrival order within a millisecond is post order.
    expect(values).toEqual(Array.from({ length: POSTS }, (_, i) => i));
  });

  it('pages through shared milliseconds without loss or repeat, in both orders', async () => {
    for (const order of ['ASC', 'DESC'] as const) {
      const seen: number[] = [];
      let cursor: string | null = null;
      for (let guard = 0; guard < 100; guard++) {
        const body: Record<string, unknown> = { measurepoints: ['n'], startTime: from, endTime: to, pageSize: 7, order };
        const page = await history(cursor ? { ...body, cursor } : body);
        expect(page.code).toBe(0);
        seen.push(...page.data.items.map((i) => i.value as number));
        cursor = page.data.nextCursor;
        if (!cursor) break;
      }
      const expected = Array.from({ length: POSTS }, (_, i) => i);
      expect(seen).toEqual(order === 'ASC' ? expected : expected.reverse());
    }
  });
});
