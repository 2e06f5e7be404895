import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiClient } from '@edgehub/hub';
import { energyStorageMap, fanMap, inverterMap, startSimulator, type RunningSimulator } from '@edgehub/simulators';
import { provision, type ProvisionedProduct } from './fixtures.js';

export interface EdgeSite {
  dir: string;
  configFile: string;
  gateway: ProvisionedProduct;
  subProductKey: string;
  simulators: Record<'inverter' | 'fan' | 'storage', RunningSimulator>;
  stop(): Promise<void>;
}

/**
 * The demo topology: an edge gateway provisioned in the hub, three Modbus TCP simulators (inverter,
 * fan, energy storage) on loopback, and the edge's config file with its burned-in identity.
 * The sub-devices themselves are NOT created: the edge registers them dynamically.
 */
export async function edgeSite(
  api: ApiClient,
  tenant: { orgId: string; accessKey: string; accessSecret: string },
  hub: { baseUrl: string; mqttUrl: string },
  o: {
    pollIntervalMs?: number;
    bufferDir?: string;
    extra?: Record<string, unknown>;
    gatewayProduct?: Record<string, unknown>;
    subProduct?: Record<string, unknown>;
  } = {},
): Promise<EdgeSite> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehub-edge-'));
  const gateway = await provision(api, tenant.orgId, {
    productType: 'Gateway',
    deviceKeys: ['edge-gw'],
    ...(o.gatewayProduct ? { product: o.gatewayProduct } : {}),
  });
  const sub = await provision(api, tenant.orgId, {
    productType: 'Device',
    deviceKeys: [],
    ...(o.subProduct ? { product: o.subProduct } : {}),
  });
  const simulators = {
    inverter: await startSimulator({ kind: 'inverter', port: 0, seed: 1 }),
    fan: await startSimulator({ kind: 'fan', port: 0, seed: 2 }),
    storage: await startSimulator({ kind: 'energy-storage', port: 0, seed: 3 }),
  };
  const gw = gateway.devices[0]!;
  await writeFile(join(dir, 'service-account.secret'), tenant.accessSecret, { mode: 0o600 });
  await writeFile(join(dir, 'gateway.secret'), gw.secret, { mode: 0o600 });
  const poll = o.pollIntervalMs ?? 200;
  const device = (deviceKey: string, model: string, port: number) => ({
    deviceKey,
    name: deviceKey,
    model,
    transport: { kind: 'tcp', host: '127.0.0.1', port },
    unitId: 1,
    pollIntervalMs: poll,
    timeoutMs: 500,
  });
  const config = {
    hub: { url: hub.baseUrl, mqttUrl: hub.mqttUrl },
    identity: {
      orgId: tenant.orgId,
      serviceAccount: { accessKey: tenant.accessKey, accessSecretFile: 'service-account.secret' },
      gateway: { productKey: gw.productKey, deviceKey: gw.deviceKey, deviceSecretFile: 'gateway.secret' },
      subDeviceProductKey: sub.productKey,
    },
    registration: 'dynamic',
    southbound: {
      models: { inverter: inverterMap, fan: fanMap, storage: energyStorageMap },
      devices: [
        device('inverter-1', 'inverter', simulators.inverter.port),
        device('fan-1', 'fan', simulators.fan.port),
        device('storage-1', 'storage', simulators.storage.port),
      ],
    },
    buffer: { dir: o.bufferDir ?? 'buffer' },
    configCenter: { host: '127.0.0.1', port: 0 },
    uplink: { reconnectMinMs: 100, reconnectMaxMs: 1000, replyTimeoutMs: 5000 },
    ...o.extra,
  };
  const configFile = join(dir, 'edge.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  return {
    dir,
    configFile,
    gateway,
    subProductKey: sub.productKey,
    simulators,
    async stop() {
      await Promise.all(Object.values(simulators).map((s) => s.stop()));
    },
  };
}
