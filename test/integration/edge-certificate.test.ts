import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Edge, loadEdgeConfig, modbusSouthbound } from '@edgehub/edge';
import { edgeSite, newTenant, startHub, type EdgeSite, type RunningHub } from '../src/index.js';

/**
 * Certificate mode end to end (seed step 5): the edge makes a key and CSR, applies through the hub
 * REST against the real certificate service, connects with mutual TLS, and renews its certificate
 * in the middle of a stream of data without losing a reading.
 */
describe('edge in certificate mode', () => {
  let h: RunningHub;
  let site: EdgeSite;
  let edge: Edge;
  let t: Awaited<ReturnType<typeof newTenant>>;

  beforeAll(async () => {
    h = await startHub();
    t = await newTenant(h, 'cert-edge');
    site = await edgeSite(
      t.client,
      t,
      { baseUrl: h.baseUrl, mqttUrl: h.mqttUrl },
      {
        pollIntervalMs: 100,
        gatewayProduct: { biDirectionalAuth: true },
        extra: { certificate: { mode: 'required', dir: 'certs', validDay: 30 } },
      },
    );
  });
  afterAll(async () => {
    await edge?.stop();
    await site?.stop();
    await h?.close();
    if (site) await rm(site.dir, { recursive: true, force: true });
  });

  it('applies for a certificate, connects with mutual TLS, and renews mid-stream losing nothing', async () => {
    const config = await loadEdgeConfig(site.configFile);
    config.hub.mqttsUrl = h.mqttsUrl;
    config.hub.caFile = h.tlsCaPath;
    edge = await Edge.start(config, modbusSouthbound, pino({ level: 'silent' }));
    await new Promise<void>((resolve) =>
      edge.status().uplink.connected && edge.status().subDevices.some((s) => s.loggedIn) ? resolve() : edge.once('up', () => resolve()),
    );
    expect(edge.status().uplink.mutualTls).toBe(true);
    const gw = h.hub.broker.sessions.ofDevice(site.gateway.productKey, 'edge-gw');
    expect(gw?.mutualTls).toBe(true);
    expect((await stat(join(site.dir, 'certs', 'device.key'))).mode & 0o777).toBe(0o600);

    // the gateway's certificate is listed in the hub
    const before = await t.client.ok<{ certSN: string; certStatus: number }[]>('GET', '/connect-service/v2.0/certificates', {
      action: 'list',
      orgId: t.orgId,
      productKey: site.gateway.productKey,
      deviceKey: 'edge-gw',
    });
    expect(before.data).toHaveLength(1);

    // a stream of readings across the renewal
    const taken: number[] = [];
    const onReading = (r: { deviceId: string; time: number }) => r.deviceId === 'fan-1' && taken.push(r.time);
    edge.on('reading', onReading);
    await new Promise<void>((resolve) => edge.on('reading', () => taken.length >= 5 && resolve()));
    const reconnected = new Promise<void>((resolve) => edge.once('up', () => resolve()));
    await edge.renewCertificate();
    await reconnected;
    const after = taken.length;
    await new Promise<void>((resolve) => edge.on('reading', () => taken.length >= after + 5 && resolve()));
    edge.off('reading', onReading);
    await edge.telemetry.settle();
    await edge.telemetry.resume();

    const listed = await t.client.ok<{ certSN: string; certStatus: number }[]>('GET', '/connect-service/v2.0/certificates', {
      action: 'list',
      orgId: t.orgId,
      productKey: site.gateway.productKey,
      deviceKey: 'edge-gw',
    });
    expect(listed.data).toHaveLength(2);
    const session = h.hub.broker.sessions.ofDevice(site.gateway.productKey, 'edge-gw');
    expect(session?.mutualTls).toBe(true);
    expect(session?.certificateSerial).toBeDefined();
    expect(listed.data.map((c) => BigInt(c.certSN).toString(16))).toContain(session!.certificateSerial);
    expect(session!.certificateSerial).not.toBe(BigInt(before.data[0]!.certSN).toString(16));

    // every fan reading taken across the switch is in the hub
    const history = await t.client.ok<{ items: { time: number }[] }>(
      'POST',
      '/connect-service/v2.1/measurepoints',
      { action: 'queryHistory', orgId: t.orgId, productKey: site.subProductKey, deviceKey: 'fan-1' },
      {
        measurepoints: ['speed'],
        startTime: Math.min(...taken),
        endTime: Math.max(...taken) + 1,
        pageSize: 1000,
      },
    );
    const stored = new Set(history.data.items.map((i) => i.time));
    expect(taken.filter((x) => !stored.has(x))).toEqual([]);
  });
});
