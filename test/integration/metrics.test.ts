import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { connectDevice, ConnectRefused, newTenant, provision, startHub, type RunningHub } from '../src/index.js';

/** Prometheus /metrics and /health, as a load balancer and a scraper see them. */
describe('metrics and health', () => {
  let h: RunningHub;
  beforeAll(async () => {
    h = await startHub({ metricsToken: 'scrape-secret' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const scrape = async () => {
    const res = await fetch(`${h.baseUrl}/metrics`, { headers: { authorization: 'Bearer scrape-secret' } });
    expect(res.status).toBe(200);
    return res.text();
  };
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line ? Number(line.slice(series.length + 1)) : undefined;
  };

  it('counts connections, messages by kind, refused CONNECTs, ACL refusals and command outcomes', async () => {
    const t = await newTenant(h, 'metrics');
    const p = await provision(t.client, t.orgId, { productType: 'Device', deviceKeys: ['m1', 'm2'] });
    const [d1, d2] = p.devices as [(typeof p.devices)[0], (typeof p.devices)[0]];
    const dev = await connectDevice(h.mqttUrl, d1);
    await expect(connectDevice(h.mqttUrl, { ...d2, secret: 'bad' })).rejects.toBeInstanceOf(ConnectRefused);
    expect(
      (await dev.request(topics.measurepointPost(d1.productKey, d1.deviceKey), 'thing.measurepoint.post', { measurepoints: { t: 1 } }))
        .code,
    ).toBe(200);
    expect(
      (await dev.request(topics.measurepointPost(d2.productKey, d2.deviceKey), 'thing.measurepoint.post', { measurepoints: { t: 1 } }))
        .code,
    ).toBe(1009);
    await t.client.ok(
      'POST',
      '/connect-service/v2.1/commands',
      { action: 'invokeService', orgId: t.orgId, assetId: d2.assetId, serviceId: 'x', pendingTtl: '60' },
      { inputData: {} },
    );

    expect((await fetch(`${h.baseUrl}/no-such-route`)).status).toBe(404);
    const m = await scrape();
    expect(value(m, 'edgehub_mqtt_connections')).toBe(1);
    expect(value(m, 'edgehub_mqtt_messages_in_total{kind="measurepointPost"}')).toBe(2);
    expect(value(m, 'edgehub_mqtt_replies_total{code="200"}')).toBe(1);
    expect(value(m, 'edgehub_mqtt_replies_total{code="1009"}')).toBe(1);
    expect(value(m, 'edgehub_mqtt_refused_connects_total{return_code="4"}')).toBe(1);
    expect(value(m, 'edgehub_mqtt_acl_refusals_total{decision="publish"}')).toBe(1);
    expect(value(m, 'edgehub_command_queue_depth')).toBe(1);
    expect(value(m, 'edgehub_http_responses_total{status_class="2xx"}')).toBeGreaterThan(0);
    expect(value(m, 'edgehub_http_responses_total{status_class="4xx"}')).toBe(1);
    expect(m).toContain('edgehub_process_resident_memory_bytes');
    await dev.end();
  });

  it('keeps /metrics behind its token when one is configured, and /health open', async () => {
    expect((await fetch(`${h.baseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${h.baseUrl}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const health = await fetch(`${h.baseUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
  });
});
