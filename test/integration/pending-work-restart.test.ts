import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { ApiClient } from '@edgehub/hub';
import { connectDevice, newTenant, provision, startHub, type RunningHub } from '../src/index.js';

/**
 * A single-node hub keeps in memory which devices have queued commands or an active OTA task, so a
 * device coming online with nothing waiting is not queried for (hub/src/commands/pending-work.ts,
 * docs/ARCHITECTURE.md "Registry caches"). Work queued before a restart must still reach the device
 * when it connects after the restart: the index is rebuilt from the store at start.
 */
describe('work queued before a restart', () => {
  const hubs: RunningHub[] = [];
  let dataDir: string;
  afterAll(async () => {
    for (const h of hubs) await h.close().catch(() => undefined);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('a cached command and an OTA task reach their devices when they connect to the restarted hub', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edgehub-pending-'));
    const first = await startHub({ dataDir });
    hubs.push(first);
    const { client: c, orgId, accessKey, accessSecret } = await newTenant(first, 'pending');
    const product = await provision(c, orgId, {
      productType: 'Device',
      deviceKeys: ['cmd', 'ota'],
      product: { thingModel: { services: { reboot: { inputData: {}, outputData: {} } } } },
    });
    const [cmdDevice, otaDevice] = product.devices as [(typeof product.devices)[0], (typeof product.devices)[0]];
    // The OTA device reports its version once, then leaves: the job is created while it is offline.
    const probe = await connectDevice(first.mqttUrl, otaDevice);
    expect((await probe.request(topics.otaInform(product.productKey, 'ota'), 'ota.device.inform', { version: '1.0.0' })).code).toBe(200);
    await probe.end();

    const queued = await c.call<{ commandId: string }>(
      'POST',
      '/connect-service/v2.1/commands',
      { action: 'invokeService', orgId, productKey: product.productKey, deviceKey: 'cmd', serviceId: 'reboot', pendingTtl: '600' },
      { inputData: {} },
    );
    expect(queued.code).toBe(0);
    const fw = await c.call<{ firmwareId: string }>(
      'POST',
      '/connect-service/v2.1/ota-firmwares',
      { action: 'create', orgId, productKey: product.productKey },
      { version: '2.0.0', file: Buffer.from('firmware 2.0.0').toString('base64') },
    );
    expect(fw.code).toBe(0);
    const job = await c.call<{ targets: number }>(
      'POST',
      '/connect-service/v2.1/ota-jobs',
      { action: 'create', orgId },
      { firmwareId: fw.data.firmwareId, filter: { deviceKeys: ['ota'] } },
    );
    expect(job.code).toBe(0);
    expect(job.data.targets).toBe(1);
    await first.hub.close();

    const second = await startHub({ dataDir });
    hubs.push(second);
    const restarted = new ApiClient({ baseUrl: second.baseUrl, accessKey, accessSecret });
    const cmd = await connectDevice(second.mqttUrl, cmdDevice);
    const ota = await connectDevice(second.mqttUrl, otaDevice);
    try {
      const invoked = await cmd.next((t) => t === topics.serviceInvoke(product.productKey, 'cmd', 'reboot'));
      expect(String(invoked.json.id)).toBe(queued.data.commandId);
      const upgrade = await ota.next((t) => t === topics.otaUpgrade(product.productKey, 'ota'));
      expect(upgrade.json.params.version).toBe('2.0.0');
      const status = await restarted.ok<{ status: string }>('GET', '/connect-service/v2.1/commands', {
        action: 'get',
        orgId,
        commandId: queued.data.commandId,
      });
      expect(status.data.status).toBe('sent');
    } finally {
      await cmd.end();
      await ota.end();
    }
  });
});
