import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { loadConfig, type ApiClient } from '@edgehub/hub';
import { connectDevice, newTenant, provision, startHub, type ProvisionedDevice, type RunningHub, type TestDevice } from '../src/index.js';

type Entry = {
  kind: string;
  time: number;
  level?: string;
  module?: string;
  content?: string;
  status?: Record<string, unknown>;
  assetId: string;
};

const T = 1_700_000_000_000;

/** `thing.log.post` and `network.status.report` from a real device, read back over REST (docs/PROTOCOL.md). */
describe('device logs and network status', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let d: ProvisionedDevice;
  let dev: TestDevice;

  const query = (body: unknown, client = c, org = orgId) =>
    client.call<Entry[]>('POST', '/connect-service/v2.1/device-logs', { action: 'query', orgId: org, assetId: d.assetId }, body);
  const logPost = (params: unknown) => dev.request(topics.logPost(d.productKey, d.deviceKey), 'thing.log.post', params);

  beforeAll(async () => {
    h = await startHub({ deviceProtocol: { ...loadConfig({}).deviceProtocol, deviceLogMaxPerDevice: 5 } });
    ({ client: c, orgId } = await newTenant(h, 'logs'));
    d = (await provision(c, orgId, { productType: 'Device', deviceKeys: ['pump'] })).devices[0]!;
    dev = await connectDevice(h.mqttUrl, d);
  });
  afterAll(async () => {
    await dev?.end();
    await h?.close();
  });

  it('stores log lines and answers them newest first, filtered by level', async () => {
    expect(
      (
        await logPost({
          logs: [
            { time: T, level: 'info', module: 'boot', content: 'started' },
            { time: T + 1, level: 'ERROR', content: 'sensor 3 timeout' },
          ],
        })
      ).code,
    ).toBe(200);
    const all = (await query({ kind: 'log' })).data;
    expect(all.map((e) => [e.time, e.level, e.content])).toEqual([
      [T + 1, 'ERROR', 'sensor 3 timeout'],
      [T, 'INFO', 'started'],
    ]);
    expect(all[1]).toMatchObject({ module: 'boot', assetId: d.assetId });
    expect((await query({ kind: 'log', level: 'ERROR' })).data.map((e) => e.content)).toEqual(['sensor 3 timeout']);
  });

  it('stores network status reports', async () => {
    const r = await dev.request(topics.networkStatusReport(d.productKey, d.deviceKey), 'network.status.report', {
      networkType: '4G',
      rssi: -71,
      time: T + 5,
    });
    expect(r.code).toBe(200);
    expect((await query({ kind: 'network' })).data).toMatchObject([
      { kind: 'network', time: T + 5, status: { networkType: '4G', rssi: -71 } },
    ]);
  });

  it('refuses malformed entries with the documented codes and stores none of the request', async () => {
    const before = (await query({ kind: 'log' })).data.length;
    expect((await logPost({ logs: [{ time: T + 2, content: 'fine' }, { level: 'INFO' }] })).code).toBe(1220);
    expect((await logPost({ logs: [{ content: 'x', level: 'LOUD' }] })).code).toBe(1220);
    expect((await logPost({ logs: Array.from({ length: 101 }, () => ({ content: 'x' })) })).code).toBe(1204);
    expect((await logPost({ logs: [{ content: 'x'.repeat(5000) }] })).code).toBe(1220);
    expect(
      (await dev.request(topics.networkStatusReport(d.productKey, d.deviceKey), 'network.status.report', { nested: { a: 1 } })).code,
    ).toBe(1220);
    expect((await query({ kind: 'log' })).data.length).toBe(before);
  });

  it('keeps at most the configured number of entries per device, dropping the oldest', async () => {
    for (let i = 0; i < 4; i++) expect((await logPost({ time: T + 100 + i, content: `line ${i}` })).code).toBe(200);
    const kept = (await query({ kind: 'log' })).data;
    expect(kept).toHaveLength(5);
    expect(kept.map((e) => e.content)).not.toContain('started');
  });

  it('is org-scoped: another organization cannot read the device', async () => {
    const other = await newTenant(h, 'other');
    expect((await query({}, other.client, other.orgId)).code).toBe(11404);
  });
});
