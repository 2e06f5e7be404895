import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { topics } from '@edgehub/shared';
import { Edge, loadEdgeConfig, modbusSouthbound } from '@edgehub/edge';
import {
  connectDevice,
  ConnectRefused,
  edgeSite,
  newTenant,
  startHub,
  type EdgeSite,
  type RunningHub,
  type TestDevice,
} from '../src/index.js';

/** A sub-device that speaks MQTT itself connects to the edge's local listener and is forwarded like the Modbus ones. */
describe('edge local MQTT listener', () => {
  let h: RunningHub;
  let t: Awaited<ReturnType<typeof newTenant>>;
  let site: EdgeSite;
  let edge: Edge;
  let meter: TestDevice | undefined;

  beforeAll(async () => {
    h = await startHub();
    t = await newTenant(h, 'edge-local');
    site = await edgeSite(
      t.client,
      t,
      { baseUrl: h.baseUrl, mqttUrl: h.mqttUrl },
      { extra: { localMqtt: { host: '127.0.0.1', port: 0, devices: [{ deviceKey: 'meter-mqtt', name: 'MQTT meter' }] } } },
    );
    edge = await Edge.start(await loadEdgeConfig(site.configFile), modbusSouthbound, pino({ level: 'silent' }));
    await new Promise<void>((resolve) => edge.once('up', () => resolve()));
  });
  afterAll(async () => {
    await meter?.end();
    await edge?.stop();
    await site?.stop();
    await h?.close();
    if (site) await rm(site.dir, { recursive: true, force: true });
  });

  it('forwards a local device’s measurepoints to the hub and relays a hub command to it', async () => {
    const dev = (
      await t.client.ok<{ assetId: string; deviceSecret: string }>('GET', '/connect-service/v2.1/devices', {
        action: 'get',
        orgId: t.orgId,
        productKey: site.subProductKey,
        deviceKey: 'meter-mqtt',
      })
    ).data;
    const creds = { productKey: site.subProductKey, deviceKey: 'meter-mqtt', secret: dev.deviceSecret };
    const url = `mqtt://127.0.0.1:${edge.localAddress!.port}`;
    await expect(connectDevice(url, { ...creds, secret: 'wrong' })).rejects.toBeInstanceOf(ConnectRefused);
    meter = await connectDevice(url, creds);

    const arrived = new Promise<void>((resolve) => {
      void h.hub.stream.subscribe(`org/${t.orgId}/devices/${site.subProductKey}/meter-mqtt/measurepoints`, () => resolve());
    });
    // The device's own time; within buffer.maxAgeMs, which bounds every reading the edge forwards.
    const time = Date.now() - 60_000;
    const local = await meter.request(topics.measurepointPost(creds.productKey, creds.deviceKey), 'thing.measurepoint.post', {
      measurepoints: { energy: 12.5 },
      time,
    });
    expect(local.code).toBe(200);
    await arrived;
    expect((await h.hub.telemetry.latest(dev.assetId))?.measurepoints['energy']).toMatchObject({ value: 12.5, time });

    // a command from the hub goes down to the local device, its reply comes back up
    meter.client.on('message', (topic, payload) => {
      if (topics.parse(topic)?.kind !== 'serviceInvoke') return;
      const msg = JSON.parse(payload.toString()) as { id: string; params: { factor: number } };
      void meter!.client.publishAsync(
        topics.reply(topic),
        JSON.stringify({ id: msg.id, code: 200, data: { scaled: 12.5 * msg.params.factor } }),
      );
    });
    const r = await t.client.call<{ outputData: { scaled: number } }>(
      'POST',
      '/connect-service/v2.1/commands',
      { action: 'invokeService', orgId: t.orgId, productKey: creds.productKey, deviceKey: 'meter-mqtt', serviceId: 'scale', timeout: '10' },
      { inputData: { factor: 2 } },
    );
    expect(r).toMatchObject({ code: 0, data: { outputData: { scaled: 25 } } });

    // a local device cannot publish for another device
    const other = await meter.request(topics.measurepointPost(creds.productKey, 'fan-1'), 'thing.measurepoint.post', {
      measurepoints: { speed: 1 },
    });
    expect(other.code).toBe(1009);
  });
});
