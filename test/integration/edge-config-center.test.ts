import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { fanMap } from '@edgehub/simulators';
import { Edge, EdgeConfigError, loadEdgeConfig, modbusSouthbound, startConfigCenter } from '@edgehub/edge';
import type { EdgeSite } from '../src/index.js';
import { demoMeasurepoints, edgeTestbed } from '../src/edge-testbed.js';

/** The edge's local config center: who may use it, and what a bind may change (docs/ARCHITECTURE.md, "Edge config center"). */
describe('edge config center', () => {
  const bed = edgeTestbed('edge-center');

  /** A static site whose devices (and fan-2, not configured) were created in the console beforehand. */
  async function staticSite(extra: Record<string, unknown> = {}): Promise<EdgeSite> {
    const site = await bed.site({
      extra: { registration: 'static', ...extra },
      subProduct: { thingModel: { measurepoints: demoMeasurepoints } },
    });
    await bed.tenant.client.ok(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'batchCreate', orgId: bed.tenant.orgId },
      {
        deviceList: ['inverter-1', 'fan-1', 'storage-1', 'fan-2'].map((deviceKey) => ({
          productKey: site.subProductKey,
          deviceKey,
          timezone: '+00:00',
          deviceName: { defaultValue: deviceKey },
        })),
      },
    );
    return site;
  }

  async function startEdge(site: EdgeSite): Promise<Edge> {
    const edge = await Edge.start(await loadEdgeConfig(site.configFile), modbusSouthbound, pino({ level: 'silent' }));
    bed.keep(edge);
    await new Promise<void>((resolve) => (edge.status().uplink.connected ? resolve() : edge.once('up', () => resolve())));
    return edge;
  }

  const readingsOf = (edge: Edge, deviceKey: string, n: number) =>
    new Promise<void>((resolve) => {
      let seen = 0;
      const on = (r: { deviceId: string }) => {
        if (r.deviceId === deviceKey && ++seen >= n) {
          edge.off('reading', on);
          resolve();
        }
      };
      edge.on('reading', on);
    });

  it('answers 401 without the Bearer token, listens on 127.0.0.1 by default, and takes a configured token instead of the gateway secret', async () => {
    const site = await staticSite({ configCenter: { port: 0, tokenFile: 'center.token' } });
    await writeFile(join(site.dir, 'center.token'), 'installer-token-1\n', { mode: 0o600 });
    const edge = await startEdge(site);
    expect(edge.config.configCenter.host).toBe('127.0.0.1');
    const center = await startConfigCenter(edge, edge.config.configCenter);
    bed.keep({ stop: () => center.app.close() });
    expect(center.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const noToken = await fetch(`${center.url}/status`);
    expect(noToken.status).toBe(401);
    expect(JSON.stringify(await noToken.json())).not.toContain(site.gateway.devices[0]!.secret);
    // an unauthenticated DELETE unbinds nothing
    expect((await fetch(`${center.url}/subdevices/fan-1`, { method: 'DELETE' })).status).toBe(401);
    expect((await fetch(`${center.url}/subdevices/fan-1`, { method: 'DELETE', headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
    // with a token configured, the gateway secret is not a credential here
    expect(
      (
        await fetch(`${center.url}/subdevices/fan-1`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${site.gateway.devices[0]!.secret}` },
        })
      ).status,
    ).toBe(401);
    expect(edge.status().subDevices.map((s) => s.deviceKey)).toContain('fan-1');
    await readingsOf(edge, 'fan-1', 2);

    const ok = await fetch(`${center.url}/status`, { headers: { authorization: 'Bearer installer-token-1' } });
    expect(ok.status).toBe(200);
  });

  it('a refused bind changes nothing: the other devices keep polling and the hub topology is untouched', async () => {
    const site = await staticSite();
    // a model the configured devices do not use, with a point the thing model does not declare
    const config = JSON.parse(await (await import('node:fs/promises')).readFile(site.configFile, 'utf8')) as {
      southbound: { models: Record<string, unknown> };
    };
    config.southbound.models['fanPlus'] = { points: { ...fanMap.points, vibration: { fc: 4, address: 1, type: 'int16' } } };
    await writeFile(site.configFile, JSON.stringify(config));
    const edge = await startEdge(site);
    const center = await startConfigCenter(edge, { host: '127.0.0.1', port: 0 });
    bed.keep({ stop: () => center.app.close() });
    const post = (body: unknown) =>
      fetch(`${center.url}/subdevices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${site.gateway.devices[0]!.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    // an incomplete transport: refused with the key named
    const incomplete = await post({ deviceKey: 'fan-2', model: 'fan', transport: { kind: 'rtu', path: '/dev/ttyUSB9' } });
    expect(incomplete.status).toBe(400);
    expect(((await incomplete.json()) as { error: string }).error).toMatch(/transport\.baudRate is required/);
    // a baud rate sent as a string names the baud rate, not some other key
    const stringBaud = await post({
      deviceKey: 'fan-2',
      model: 'fan',
      transport: { kind: 'rtu', path: '/dev/ttyUSB9', baudRate: '19200' },
    });
    expect(((await stringBaud.json()) as { error: string }).error).toMatch(/transport\.baudRate must be integer/);
    // unit 0 is broadcast on a serial line: the poller's rule, checked before anything changes
    const broadcast = await post({
      deviceKey: 'fan-2',
      model: 'fan',
      unitId: 0,
      transport: { kind: 'rtu', path: '/dev/ttyUSB9', baudRate: 19200 },
    });
    expect(((await broadcast.json()) as { error: string }).error).toMatch(/unitId: must be an integer from 1 to 247/);
    // a register point the product's thing model does not declare
    const undeclared = await post({
      deviceKey: 'fan-2',
      model: 'fanPlus',
      transport: { kind: 'tcp', host: '127.0.0.1', port: site.simulators.fan.port },
    });
    expect(undeclared.status).toBe(400);
    expect(((await undeclared.json()) as { error: string }).error).toMatch(
      /southbound\.models\.fanPlus\.points\.vibration: "vibration" is not a measurepoint/,
    );

    // nothing changed: fan-2 is not in the gateway's topology, and the configured devices still poll
    expect((await bed.subDevices(site)).find((d) => d.deviceKey === 'fan-2')?.gatewayAssetId).toBeNull();
    await Promise.all([readingsOf(edge, 'fan-1', 3), readingsOf(edge, 'inverter-1', 3)]);
    expect(
      edge
        .status()
        .subDevices.map((s) => s.deviceKey)
        .sort(),
    ).toEqual(['fan-1', 'inverter-1', 'storage-1']);
  });

  it('keeps binds and unbinds across a restart', async () => {
    const site = await staticSite();
    let edge = await startEdge(site);
    let center = await startConfigCenter(edge, { host: '127.0.0.1', port: 0 });
    const auth = { authorization: `Bearer ${site.gateway.devices[0]!.secret}` };
    const bound = await fetch(`${center.url}/subdevices`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        deviceKey: 'fan-2',
        model: 'fan',
        transport: { kind: 'tcp', host: '127.0.0.1', port: site.simulators.fan.port },
        pollIntervalMs: 200,
      }),
    });
    expect(bound.status).toBe(201);
    expect((await fetch(`${center.url}/subdevices/storage-1`, { method: 'DELETE', headers: auth })).status).toBe(204);
    await center.app.close();
    await edge.stop();

    edge = await startEdge(site);
    center = await startConfigCenter(edge, { host: '127.0.0.1', port: 0 });
    bed.keep({ stop: () => center.app.close() });
    await readingsOf(edge, 'fan-2', 2);
    const keys = ((await (await fetch(`${center.url}/subdevices`, { headers: auth })).json()) as { deviceKey: string }[])
      .map((s) => s.deviceKey)
      .sort();
    expect(keys).toEqual(['fan-1', 'fan-2', 'inverter-1']);
  });

  it('answers a body over 64 KiB, a body that is not JSON and an unknown route with their status, and changes nothing', async () => {
    const site = await staticSite();
    const edge = await startEdge(site);
    const center = await startConfigCenter(edge, { host: '127.0.0.1', port: 0 });
    bed.keep({ stop: () => center.app.close() });
    const auth = { authorization: `Bearer ${site.gateway.devices[0]!.secret}` };
    const before = edge.status().subDevices.map((s) => s.deviceKey);
    const post = (body: string) =>
      fetch(`${center.url}/subdevices`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    const huge = await post(JSON.stringify({ deviceKey: 'fan-2', name: 'x'.repeat(70 * 1024) }));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: string }).error).toMatch(/over 65536 bytes/);
    const broken = await post('{"deviceKey": "fan-2",');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: string }).error).toMatch(/not valid JSON/);
    // The token is checked before the route: an unknown path says nothing without it.
    expect((await fetch(`${center.url}/nothing-here`)).status).toBe(401);
    expect((await fetch(`${center.url}/nothing-here`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${center.url}/status`, { method: 'PUT', headers: auth })).status).toBe(405);
    expect(edge.status().subDevices.map((s) => s.deviceKey)).toEqual(before);
  });

  it('refuses to start, naming the point, when a register map reads a measurepoint the thing model does not declare', async () => {
    const { running: _omit, ...declared } = demoMeasurepoints;
    void _omit;
    const site = await bed.site({ subProduct: { thingModel: { measurepoints: declared } } });
    const started = Edge.start(await loadEdgeConfig(site.configFile), modbusSouthbound, pino({ level: 'silent' }));
    await expect(started).rejects.toBeInstanceOf(EdgeConfigError);
    await expect(started).rejects.toThrow(/southbound\.models\.fan\.points\.running: "running" is not a measurepoint/);
    // checked before registration: no sub-device was created
    expect(await bed.subDevices(site)).toEqual([]);
  });
});
