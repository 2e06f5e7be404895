import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topics } from '@edgehub/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../hub/src/cli/csv.js';
import { connectDevice, provision, cliRunner, startHub, type ProvisionedDevice, type RunningHub } from '../src/index.js';

/** `measurepoint latest|history` against a real hub, with values a real MQTT device posted. */
describe('edgehub CLI: measurepoints', () => {
  let h: RunningHub;
  let dir: string;
  let device: ProvisionedDevice;
  const T = Date.parse('2026-12-01T10:00:00Z');

  const cli = (args: string[]) => cliRunner(join(dir, 'credentials.json')).run(args);

  beforeAll(async () => {
    h = await startHub();
    dir = await mkdtemp(join(tmpdir(), 'edgehub-cli-mp-'));
    const login = await cli(['login', '--url', h.baseUrl, '--from-credentials', h.hub.credentialsPath]);
    expect(login.code, login.stderr).toBe(0);
    const product = await provision(h.admin, h.adminCreds.orgId, {
      productType: 'Device',
      deviceKeys: ['inv-1'],
      product: { thingModel: { measurepoints: { power: { dataType: 'DOUBLE', hasQuality: true }, state: { dataType: 'STRING' } } } },
    });
    device = product.devices[0]!;
    const d = await connectDevice(h.mqttUrl, device);
    const post = (measurepoints: Record<string, unknown>, time: number) =>
      d.request(topics.measurepointPost(device.productKey, device.deviceKey), 'thing.measurepoint.post', { measurepoints, time });
    expect((await post({ power: { value: 4.2, quality: 9 }, state: 'run, "mppt"' }, T)).code).toBe(200);
    expect((await post({ power: { value: 5.5, quality: 8 } }, T + 60_000)).code).toBe(200);
    expect((await post({ power: { value: 6.1, quality: 9 } }, T + 120_000)).code).toBe(200);
    await d.end();
  });

  afterAll(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the latest value of each measurepoint, as JSON for jq', async () => {
    const r = await cli(['--json', 'measurepoint', 'latest', '--product', device.productKey, '--key', device.deviceKey]);
    expect(r.code, r.stderr).toBe(0);
    const latest = JSON.parse(r.stdout) as {
      assetId: string;
      measurepoints: Record<string, { value: unknown; quality?: number; time: number }>;
    };
    expect(latest.assetId).toBe(device.assetId);
    expect(latest.measurepoints['power']).toEqual({ value: 6.1, quality: 9, time: T + 120_000 });
    expect(latest.measurepoints['state']).toMatchObject({ value: 'run, "mppt"', time: T });
  });

  it('writes a time range as CSV, in the order asked for, whatever its case', async () => {
    const range = ['--from', new Date(T).toISOString(), '--to', String(T + 120_000)];
    const [asc, desc] = await Promise.all([
      cli(['measurepoint', 'history', '--asset-id', device.assetId, '--point', 'power', '--point', 'state', ...range, '--csv']),
      cli([
        'measurepoint',
        'history',
        '--product',
        device.productKey,
        '--key',
        device.deviceKey,
        '--point',
        'power',
        ...range,
        '--order',
        'desc',
        '--csv',
      ]),
    ]);
    expect(asc.code, asc.stderr).toBe(0);
    // The end is exclusive: the value at T + 120 s is not in [T, T + 120 s).
    expect(parseCsv(asc.stdout).map((r) => r.fields)).toEqual([
      ['measurepoint', 'time', 'value', 'quality'],
      ['power', '2026-12-01T10:00:00.000Z', '4.2', '9'],
      ['state', '2026-12-01T10:00:00.000Z', 'run, "mppt"', ''],
      ['power', '2026-12-01T10:01:00.000Z', '5.5', '8'],
    ]);
    expect(desc.code, desc.stderr).toBe(0);
    expect(parseCsv(desc.stdout).map((r) => r.fields[1])).toEqual(['time', '2026-12-01T10:01:00.000Z', '2026-12-01T10:00:00.000Z']);
  });

  it('refuses an ambiguous time and a bad order before calling the hub', async () => {
    const [noZone, badOrder] = await Promise.all([
      cli(['measurepoint', 'history', '--asset-id', device.assetId, '--point', 'power', '--from', '2026-12-01T10:00:00']),
      cli(['measurepoint', 'history', '--asset-id', device.assetId, '--point', 'power', '--order', 'sideways']),
    ]);
    expect(noZone.code).toBe(2);
    expect(noZone.stderr).toMatch(/--from: give epoch milliseconds or an ISO 8601 time with a zone/);
    expect(badOrder.code).toBe(2);
    expect(badOrder.stderr).toMatch(/asc or desc/);
  });
});
