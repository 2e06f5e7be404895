import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Edge, loadEdgeConfig, modbusSouthbound, startConfigCenter } from '@edgehub/edge';
import { demoMeasurepoints, edgeTestbed } from '../src/edge-testbed.js';

/** Log lines as parsed JSON, to check what the edge says and at which level. */
function memoryLog(): { log: pino.Logger; lines: Record<string, unknown>[]; text: () => string } {
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw += chunk.toString();
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines, text: () => raw };
}

/** What the hub refuses never silently disappears, and a refusing hub is reported, not hammered. */
describe('edge when the hub refuses', () => {
  const bed = edgeTestbed('edge-refusals');

  it('one measurepoint the thing model stops allowing is skipped and kept aside; every other reading still arrives', async () => {
    const site = await bed.site({ pollIntervalMs: 100, subProduct: { thingModel: { measurepoints: demoMeasurepoints } } });
    const edge = await Edge.start(await loadEdgeConfig(site.configFile), modbusSouthbound, pino({ level: 'silent' }));
    bed.keep(edge);
    const center = await startConfigCenter(edge, { host: '127.0.0.1', port: 0 });
    bed.keep({ stop: () => center.app.close() });

    // The product's model changes under the running edge: `speed` is no longer a measurepoint.
    const { speed: _dropped, ...withoutSpeed } = demoMeasurepoints;
    void _dropped;
    await bed.tenant.client.ok(
      'POST',
      '/connect-service/v2.1/products',
      { action: 'update', orgId: bed.tenant.orgId, productKey: site.subProductKey },
      { thingModel: { measurepoints: withoutSpeed } },
    );
    const changedAt = Date.now();

    // Readings of every device taken after the change reach the hub's stream.
    const seenAfter = new Map<string, Record<string, unknown>>();
    await new Promise<void>((resolve) => {
      void bed.hub.hub.stream.subscribe(`org/${bed.tenant.orgId}/#`, (e) => {
        if (e.type !== 'measurepoints' || e.time <= changedAt + 500) return;
        seenAfter.set(e.deviceKey, e.measurepoints);
        if (seenAfter.size === 3 && edge.status().telemetry.skippedByHub > 0) resolve();
      });
    });
    expect(Object.keys(seenAfter.get('fan-1')!).sort()).toEqual(['running', 'speedSetpoint']);
    expect(Object.keys(seenAfter.get('inverter-1')!).length).toBeGreaterThan(3);
    expect(edge.status().telemetry.refusedByHub).toBe(0);

    // The skipped values are kept aside and shown on the config center, with why.
    const auth = { authorization: `Bearer ${site.gateway.devices[0]!.secret}` };
    const refused = (await (await fetch(`${center.url}/refused?limit=5`, { headers: auth })).json()) as {
      count: number;
      newest: { deviceKey: string; time: number; measurepoints: Record<string, unknown>; reason: string }[];
    };
    expect(refused.count).toBeGreaterThan(0);
    expect(refused.newest.length).toBeGreaterThan(0);
    for (const r of refused.newest) {
      expect(r.deviceKey).toBe('fan-1');
      expect(Object.keys(r.measurepoints)).toEqual(['speed']);
      expect(typeof r.measurepoints['speed']).toBe('number');
      expect(r.reason).toMatch(/speed is not a measurepoint/);
    }
    expect(edge.status().refused.count).toBeGreaterThanOrEqual(refused.count);
  });

  it('a gateway secret the hub refuses is logged as an error after three refusals, retried at the longest backoff and shown in the status', async () => {
    const site = await bed.site({ extra: { uplink: { reconnectMinMs: 50, reconnectMaxMs: 800, replyTimeoutMs: 3000 } } });
    const wrong = 'not-the-gateway-secret-123';
    await writeFile(join(site.dir, 'gateway.secret'), wrong, { mode: 0o600 });
    const mem = memoryLog();
    const edge = await Edge.start(await loadEdgeConfig(site.configFile), modbusSouthbound, mem.log);
    bed.keep(edge);

    const at: number[] = [];
    await new Promise<void>((resolve) =>
      edge.on('refused', (r) => {
        at.push(r.at);
        if (r.count >= 4) resolve();
      }),
    );
    const errors = mem.lines.filter((l) => l['level'] === 50);
    expect(errors).toHaveLength(1);
    expect(String(errors[0]!['msg'])).toMatch(/keeps refusing the gateway's CONNECT .*identity\.gateway/);
    expect(errors[0]!['refusals']).toBe(3);
    // the first retries follow the short backoff, then the edge waits the longest one
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(0.8 * 800 - 20);
    const status = edge.status().uplink;
    expect(status.connected).toBe(false);
    expect(status.refusal?.count).toBeGreaterThanOrEqual(4);
    expect(status.refusal?.lastError).toMatch(/CONNACK [45]/);
    expect(mem.text()).not.toContain(wrong);
  });
});
