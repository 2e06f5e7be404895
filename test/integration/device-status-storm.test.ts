/**
 * Device status through a storm of CONNECTs and DISCONNECTs, with the status writes group-committed
 * (hub/src/registry/status-commits.ts): the REST device GET shows every device online after the
 * storm and offline after the devices leave; and a hub killed with SIGKILL in the middle of a storm
 * of first logins restarts with every device's record consistent (online with its activeTime and
 * lastOnlineTime, or still inactive with neither), every device then able to log in.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@edgehub/hub';
import {
  connectDevice,
  eventually,
  provision,
  spawnHub,
  type AdminCredentials,
  type ProvisionedDevice,
  type SpawnedHub,
  type TestDevice,
} from '../src/index.js';

/** The REST view: a time never set reads as null. */
type DeviceView = { status: string; activeTime: number | null; lastOnlineTime: number | null; lastOfflineTime: number | null };

const dirs: string[] = [];
const hubs: SpawnedHub[] = [];
afterAll(async () => {
  for (const h of hubs) await h.stop('SIGKILL');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function start(dataDir: string): Promise<{ hub: SpawnedHub; admin: ApiClient; orgId: string }> {
  const hub = await spawnHub({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, 120_000);
  hubs.push(hub);
  const creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
  return {
    hub,
    admin: new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret }),
    orgId: creds.orgId,
  };
}

const statuses = (admin: ApiClient, orgId: string, devices: ProvisionedDevice[]) =>
  Promise.all(
    devices.map(
      async (d) =>
        (
          await admin.ok<DeviceView>('GET', '/connect-service/v2.1/devices', {
            action: 'get',
            orgId,
            productKey: d.productKey,
            deviceKey: d.deviceKey,
          })
        ).data,
    ),
  );

/** Connects every device, `inFlight` CONNECTs at a time; `onConnack` sees each accepted connection. */
async function storm(url: string, devices: ProvisionedDevice[], inFlight: number, onConnack?: (n: number) => void) {
  const connected: TestDevice[] = [];
  let next = 0;
  const worker = async () => {
    while (next < devices.length) {
      const d = devices[next++]!;
      const conn = await connectDevice(url, d).catch(() => undefined);
      if (!conn) continue;
      connected.push(conn);
      onConnack?.(connected.length);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return connected;
}

describe('device status through a connect storm', () => {
  it('REST shows every device online after the storm and offline after it, and a SIGKILL mid-storm leaves consistent records', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-status-storm-'));
    dirs.push(dataDir);
    let { hub, admin, orgId } = await start(dataDir);
    const keys = (prefix: string) => Array.from({ length: 150 }, (_, i) => `${prefix}${i}`);
    const fleet = (await provision(admin, orgId, { productType: 'Device', deviceKeys: keys('fleet') })).devices;
    const late = (await provision(admin, orgId, { productType: 'Device', deviceKeys: keys('late') })).devices;

    // 1. A storm, then everyone leaves: the REST view follows (written after each CONNACK and close, so awaited by polling).
    const conns = await storm(hub.mqttUrl!, fleet, 30);
    expect(conns).toHaveLength(fleet.length);
    await eventually(async () => (await statuses(admin, orgId, fleet)).every((v) => v.status === 'online'), 30_000, 'all online');
    for (const v of await statuses(admin, orgId, fleet)) expect(v.activeTime).toBe(v.lastOnlineTime);
    await Promise.all(conns.map((c) => c.end()));
    await eventually(async () => (await statuses(admin, orgId, fleet)).every((v) => v.status === 'offline'), 30_000, 'all offline');
    for (const v of await statuses(admin, orgId, fleet)) expect(v.lastOfflineTime).toBeGreaterThanOrEqual(v.lastOnlineTime ?? Infinity);

    // 2. First logins of other devices; the hub is killed once half of them have their CONNACK.
    const killed = new Promise<void>((resolve) => hub.child.once('exit', () => resolve()));
    await storm(hub.mqttUrl!, late, 30, (n) => {
      if (n === late.length / 2) hub.child.kill('SIGKILL');
    });
    await killed;

    ({ hub, admin, orgId } = await start(dataDir));
    const after = await statuses(admin, orgId, late);
    for (const v of after) {
      if (v.status === 'inactive') {
        expect(v.activeTime).toBeNull();
        expect(v.lastOnlineTime).toBeNull();
      } else {
        // Written, in one piece: online since its first login (no session closed it: the process died).
        expect(v.status).toBe('online');
        expect(v.activeTime).toEqual(expect.any(Number));
        expect(v.lastOnlineTime).toBe(v.activeTime);
      }
    }
    // The earlier fleet's records are as they were.
    for (const v of await statuses(admin, orgId, fleet)) expect(v.status).toBe('offline');

    // 3. Every device of the killed storm logs in to the restarted hub.
    const again = await storm(hub.mqttUrl!, late, 30);
    expect(again).toHaveLength(late.length);
    await eventually(async () => (await statuses(admin, orgId, late)).every((v) => v.status === 'online'), 30_000, 'all online again');
    await Promise.all(again.map((c) => c.end()));
  }, 240_000);
});
