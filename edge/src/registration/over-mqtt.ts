import { subDeviceSignature, topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/shared/api-client';
import type { Logger } from 'pino';
import type { EdgeConfig, SouthboundDeviceConfig } from '../config/types.js';
import type { Uplink } from '../uplink/uplink.js';
import { RegistrationError, ensureSubDevices, type SubDeviceCredentials } from './sub-devices.js';

/**
 * Registration through the gateway's own connection (docs/ENOS-PROTOCOL.md §4.4, §5.1): missing
 * sub-devices are created with `thing.device.register` (the reply carries their secrets) and put
 * in the topology with a signed `thing.topo.add`. Existing ones are read with the service account.
 */
export async function registerOverMqtt(
  uplink: Uplink,
  api: ApiClient,
  cfg: EdgeConfig,
  devices: SouthboundDeviceConfig[],
  log: Logger,
): Promise<Map<string, SubDeviceCredentials>> {
  const { orgId, subDeviceProductKey: productKey, gateway } = cfg.identity;
  const known = new Map<string, SubDeviceCredentials>();
  // Existing devices are looked up (static mode refuses nothing: it only binds what exists).
  try {
    for (const [k, v] of await ensureSubDevices(
      api,
      { orgId, subDeviceProductKey: productKey, gateway },
      devices.map((d) => ({ deviceKey: d.deviceKey })),
      'static',
      log,
    ))
      known.set(k, v);
    return known;
  } catch (e) {
    if (!(e instanceof RegistrationError)) throw e;
  }
  const r = await uplink.request(
    topics.deviceRegister(gateway.productKey, gateway.deviceKey),
    'thing.device.register',
    devices.map((d) => ({ productKey, deviceKey: d.deviceKey, deviceName: { defaultValue: d.name ?? d.deviceKey }, timezone: '+00:00' })),
  );
  for (const d of (r.data as SubDeviceCredentials[] | undefined) ?? []) known.set(d.deviceKey, d);
  if (r.code !== 200 && r.code !== 702) throw new RegistrationError(`thing.device.register failed: ${r.code} ${r.message ?? ''}`);
  const ts = Date.now();
  const fresh = [...known.values()];
  const topo = await uplink.request(
    topics.topoAdd(gateway.productKey, gateway.deviceKey),
    'thing.topo.add',
    fresh.map((s) => ({
      productKey: s.productKey,
      deviceKey: s.deviceKey,
      clientId: s.deviceKey,
      timestamp: ts,
      signMethod: 'sha256',
      sign: subDeviceSignature(
        { clientId: s.deviceKey, deviceKey: s.deviceKey, productKey: s.productKey, timestamp: ts },
        s.deviceSecret,
        'sha256',
      ),
    })),
  );
  if (topo.code !== 200) throw new RegistrationError(`thing.topo.add failed: ${topo.code} ${topo.message ?? ''}`);
  log.info({ registered: fresh.length }, 'sub-devices registered over MQTT');
  return known;
}
