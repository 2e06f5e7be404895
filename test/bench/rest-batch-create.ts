import { performance } from 'node:perf_hooks';
import type { ApiClient } from '@edgehub/hub';
import type { NewDevice } from '../../hub/src/registry/devices.js';
import { i18n, newTenant, type RunningHub } from '../src/index.js';

export interface BenchTenant {
  client: ApiClient;
  orgId: string;
  productKey: string;
}

/** An organization, an application with a live token, and an empty product: everything outside the timed part. */
export async function prepareTenant(h: RunningHub): Promise<BenchTenant> {
  const t = await newTenant(h, 'bench');
  const p = await t.client.connect<string>(
    t.orgId,
    'POST',
    'products',
    'create',
    {},
    {
      productName: i18n('Bench meter'),
      productType: 'Device',
      dataFormat: 'Json',
      biDirectionalAuth: false,
    },
  );
  if (p.code !== 0) throw new Error(`product create failed: ${p.code} ${p.msg}`);
  await t.client.accessToken();
  return { client: t.client, orgId: t.orgId, productKey: p.data };
}

/** The devices to create: explicit, sequential keys so the store peer can insert them in the same order. */
export function deviceList(productKey: string, count: number): NewDevice[] {
  return Array.from({ length: count }, (_, i) => ({
    productKey,
    deviceKey: `meter-${String(i).padStart(5, '0')}`,
    deviceName: i18n(`Meter ${i}`),
    timezone: '+08:00',
    deviceTags: { site: `site-${i % 20}` },
  }));
}

export interface BatchCreateRun {
  devices: number;
  elapsedMs: number;
  devicesPerSec: number;
  /** Wall time of each batchCreate call, in order. */
  callMs: number[];
  assetIds: string[];
}

/** Creates the devices through the signed REST API, `batch` per call, one call after another. */
export async function restBatchCreate(t: BenchTenant, devices: NewDevice[], batch: number): Promise<BatchCreateRun> {
  const callMs: number[] = [];
  const assetIds: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < devices.length; i += batch) {
    const c0 = performance.now();
    const r = await t.client.connect<{ code: number; msg: string; data: { assetId: string } | null }[]>(
      t.orgId,
      'POST',
      'devices',
      'batchCreate',
      {},
      { deviceList: devices.slice(i, i + batch) },
    );
    callMs.push(performance.now() - c0);
    if (r.code !== 0) throw new Error(`batchCreate failed: ${r.code} ${r.msg}`);
    for (const item of r.data) {
      if (item.code !== 0 || !item.data) throw new Error(`batchCreate item failed: ${item.code} ${item.msg}`);
      assetIds.push(item.data.assetId);
    }
  }
  const elapsedMs = performance.now() - t0;
  return { devices: devices.length, elapsedMs, devicesPerSec: (devices.length / elapsedMs) * 1000, callMs, assetIds };
}
