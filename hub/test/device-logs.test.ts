import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLogs, deviceLogsSpec, type DeviceLogRecord } from '../src/device-logs/device-logs.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/port.js';

const device = { assetId: 'a1', orgId: 'o1', productKey: 'pk', deviceKey: 'dk', productType: 'Device' as const };
const DAY = 86_400_000;

describe('device log retention', () => {
  let dir: string;
  let store: Store;
  let now = 1_700_000_000_000;
  let logs: DeviceLogs;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'device-logs-'));
    store = await openStore({ dataDir: dir });
    logs = new DeviceLogs(await store.collection<DeviceLogRecord>(deviceLogsSpec), { maxPerDevice: 100, retentionMs: 30 * DAY }, () => now);
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hides and then prunes entries received longer ago than the retention', async () => {
    await logs.append(device, [{ kind: 'log', time: now, level: 'INFO', content: 'old' }]);
    now += 20 * DAY;
    await logs.append(device, [{ kind: 'log', time: now, level: 'INFO', content: 'new' }]);
    now += 11 * DAY;
    expect((await logs.query({ assetId: 'a1', limit: 10 })).map((e) => e.content)).toEqual(['new']);
    expect(await logs.prune()).toBe(1);
    now -= 31 * DAY; // even read with the old clock, the pruned entry is gone
    expect((await logs.query({ assetId: 'a1', limit: 10 })).map((e) => e.content)).toEqual(['new']);
  });
});
