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

  it('warns about a secret file other users can read', async () => {
    await chmod(join(dir, 'secrets', 'sa'), 0o644);
    const warnings: string[] = [];
    await load(valid(), (m) => warnings.push(m));
    expect(warnings.join('\n')).toMatch(/readable by other users/);
    await chmod(join(dir, 'secrets', 'sa'), 0o600);
  });
});
