import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeConfigError, loadEdgeConfig } from '../src/config/load.js';

const valid = () => ({
  hub: { url: 'http://127.0.0.1:8080', mqttUrl: 'mqtt://127.0.0.1:11883' },
  identity: {
    orgId: 'o1',
    serviceAccount: { accessKey: 'ak', accessSecretFile: 'secrets/sa' },
    gateway: { productKey: 'gwPk', deviceKey: 'edge-1', deviceSecret: 'gw-secret' },
    subDeviceProductKey: 'subPk',
  },
  southbound: {
    models: { fan: { points: { speed: { fc: 3, address: 0, type: 'int16', writable: { fc: 6 } } } } },
    devices: [{ deviceKey: 'fan-1', model: 'fan', transport: { kind: 'tcp', host: '127.0.0.1', port: 5020 } }],
  },
});

describe('edge config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edge-config-'));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'secrets'));
    await writeFile(join(dir, 'secrets', 'sa'), 'the-secret\n', { mode: 0o600 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const load = async (config: unknown, warn?: (m: string) => void) => {
    const file = join(dir, `c-${Math.random()}.json`);
    await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config));
    return loadEdgeConfig(file, warn);
  };
  const failure = async (config: unknown) => {
    try {
      await load(config);
    } catch (e) {
      expect(e).toBeInstanceOf(EdgeConfigError);
      return (e as Error).message;
    }
    throw new Error('config was accepted');
  };

  it('loads a valid config, reads secrets from their files and fills defaults', async () => {
    const c = await load(valid());
    expect(c.identity.serviceAccount.accessSecret).toBe('the-secret');
    expect(c.registration).toBe('dynamic');
    expect(c.configCenter.host).toBe('127.0.0.1');
    expect(c.uplink.maxOnlineSubDevices).toBe(200);
  });

  it('names the key of every error', async () => {
    const v = valid();
    expect(await failure({ ...v, colour: 'red' })).toMatch(/colour is not a known key/);
    expect(await failure({ ...v, hub: { ...v.hub, mqttUrl: 'http://x' } })).toMatch(/hub\.mqttUrl/);
    const wrongPort = valid();
    (wrongPort.southbound.devices[0]!.transport as { port: unknown }).port = 'five';
    expect(await failure(wrongPort)).toMatch(/southbound\.devices\[0\]\.transport/);
    const noModel = valid();
    noModel.southbound.devices[0]!.model = 'toaster';
    expect(await failure(noModel)).toMatch(/southbound\.devices\[0\]\.model: no model named "toaster"/);
    const { identity, ...noIdentity } = v;
    void identity;
    expect(await failure(noIdentity)).toMatch(/identity is required/);
    const badFc = valid();
    (badFc.southbound.models.fan.points.speed as { type: string }).type = 'bool';
    expect(await failure(badFc)).toMatch(/southbound\.models\.fan\.points\.speed\.type/);
    const dup = valid();
    dup.southbound.devices.push({ ...dup.southbound.devices[0]! });
    expect(await failure(dup)).toMatch(/appears twice/);
    expect(await failure('{ not json')).toMatch(/not valid JSON/);
    const missingSecret = valid();
    missingSecret.identity.serviceAccount = { accessKey: 'ak', accessSecretFile: 'secrets/none' };
    expect(await failure(missingSecret)).toMatch(/identity\.serviceAccount\.accessSecretFile/);
  });

  it('names the key and what is expected, and refuses at load what the runtime would refuse later', async () => {
    const rtu = (extra: Record<string, unknown>, transport: Record<string, unknown> = {}) => {
      const v = valid();
      v.southbound.devices[0] = {
        ...v.southbound.devices[0]!,
        ...extra,
        transport: { kind: 'rtu', path: '/dev/ttyUSB0', baudRate: 19200, ...transport } as never,
      };
      return v;
    };
    // a baud rate as a string: the baud rate is named, not a key of the other transport kind
    expect(await failure(rtu({}, { baudRate: '19200' }))).toMatch(/southbound\.devices\[0\]\.transport\.baudRate must be integer/);
    expect(await failure(rtu({}, { kind: 'serial' }))).toMatch(/southbound\.devices\[0\]\.transport\.kind must be one of "tcp", "rtu"/);
    // enums list what is allowed
    expect(await failure({ ...valid(), registration: 'dynamc' })).toMatch(/registration must be one of "dynamic", "static", "mqtt"/);
    expect(await failure(rtu({}, { parity: 'mark' }))).toMatch(/transport\.parity must be one of "none", "even", "odd"/);
    // a secret and its file: one of the two, said in those words
    const both = valid();
    (both.identity.gateway as Record<string, string>)['deviceSecretFile'] = 'secrets/sa';
    expect(await failure(both)).toMatch(/identity\.gateway: give deviceSecret or deviceSecretFile, not both/);
    const neither = valid();
    delete (neither.identity.gateway as Record<string, string>)['deviceSecret'];
    expect(await failure(neither)).toMatch(/identity\.gateway: deviceSecret or deviceSecretFile is required/);
    // the schema allows what the poller refuses: refused here, before any device is registered
    expect(await failure(rtu({ unitId: 0 }))).toMatch(/southbound\.devices\[0\]\.unitId: must be an integer from 1 to 247/);
    const scaleZero = valid();
    (scaleZero.southbound.models.fan.points.speed as Record<string, unknown>)['scale'] = 0;
    expect(await failure(scaleZero)).toMatch(/southbound\.models\.fan\.points\.speed\.scale: must not be 0/);
  });

  it('takes the config center token from configCenter.token or tokenFile, else the gateway secret', async () => {
    expect((await load(valid())).configCenter.token).toBe('gw-secret');
    expect((await load({ ...valid(), configCenter: { tokenFile: 'secrets/sa' } })).configCenter.token).toBe('the-secret');
    expect((await load({ ...valid(), configCenter: { token: 't0ken' } })).configCenter.token).toBe('t0ken');
  });

  it('makes the southbound reconnect delay configurable', async () => {
    const d = await load(valid());
    expect([d.southbound.reconnectMinMs, d.southbound.reconnectMaxMs]).toEqual([1000, 30_000]);
    const c = await load({ ...valid(), southbound: { ...valid().southbound, reconnectMinMs: 200, reconnectMaxMs: 2000 } });
    expect([c.southbound.reconnectMinMs, c.southbound.reconnectMaxMs]).toEqual([200, 2000]);
  });

  it('warns about a secret file other users can read', async () => {
    await chmod(join(dir, 'secrets', 'sa'), 0o644);
    const warnings: string[] = [];
    await load(valid(), (m) => warnings.push(m));
    expect(warnings.join('\n')).toMatch(/readable by other users/);
    await chmod(join(dir, 'secrets', 'sa'), 0o600);
  });
});
