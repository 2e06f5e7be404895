import { readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@edgehub/hub';
import {
  connectApp,
  edgeSite,
  freePort,
  spawnEdge,
  spawnHub,
  type AdminCredentials,
  type EdgeSite,
  type SpawnedEdge,
  type SpawnedHub,
} from '../src/index.js';

/**
 * Store-and-forward through an outage, with real processes: the hub stops, the edge keeps polling
 * and buffering, the edge is killed (SIGKILL) and restarted during the outage, the hub comes back.
 * Every reading the edge had made durable arrives exactly once per (device, point, timestamp), in order.
 */
describe('edge through a hub outage', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('loses nothing it had buffered and delivers it exactly once, in order', async () => {
    const hubDir = await mkdtemp(join(tmpdir(), 'edgehub-outage-'));
    cleanup.push(() => rm(hubDir, { recursive: true, force: true }));
    const env = {
      HUB_DATA_DIR: hubDir,
      HUB_HTTP_PORT: String(await freePort()),
      HUB_MQTT_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    };
    let hub: SpawnedHub = await spawnHub(env);
    cleanup.push(() => hub.stop());
    const creds = JSON.parse(await readFile(join(hubDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
    const api = new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
    const site: EdgeSite = await edgeSite(
      api,
      { orgId: creds.orgId, accessKey: creds.accessKey, accessSecret: creds.accessSecret },
      { baseUrl: hub.baseUrl, mqttUrl: hub.mqttUrl! },
      {
        pollIntervalMs: 100,
        // Slow reconnects after the outage leave time for the observing application to subscribe first.
        extra: { uplink: { reconnectMinMs: 1500, reconnectMaxMs: 2000, replyTimeoutMs: 3000 } },
      },
    );
    cleanup.push(() => site.stop());
    cleanup.push(() => rm(site.dir, { recursive: true, force: true }));

    let edge: SpawnedEdge = await spawnEdge(site.configFile);
    cleanup.push(() => edge.stop('SIGKILL'));
    // live first: a few readings go straight through
    await edge.until(() => edge.read.length >= 9);

    // 1. the hub goes away; the edge keeps polling into its buffer
    await hub.stop('SIGTERM');
    const before = edge.durable.length;
    await edge.until(() => edge.durable.length >= before + 30);

    // 2. the edge is killed mid-outage, restarted, and keeps buffering
    const durableBeforeKill = [...edge.durable];
    const readBeforeKill = [...edge.read];
    await edge.stop('SIGKILL');
    edge = await spawnEdge(site.configFile).catch(async () => {
      // The edge cannot register while the hub is down: it must still start from its config...
      throw new Error('the edge did not start during the outage');
    });
    await edge.until(() => edge.durable.length >= 30);
    const durableSecond = [...edge.durable];

    // 3. the hub comes back: an application watches, the edge replays its backlog
    hub = await spawnHub(env);
    const app = await connectApp(hub.mqttUrl!, creds.accessKey, creds.accessSecret, 'outage-watch');
    cleanup.push(() => app.endAsync(true));
    const resumed: { deviceKey: string; time: number; points: string[] }[] = [];
    app.on('message', (_t, payload) => {
      const e = JSON.parse(payload.toString()) as {
        type: string;
        resume: boolean;
        deviceKey: string;
        time: number;
        measurepoints: Record<string, unknown>;
      };
      if (e.type === 'measurepoints' && e.resume)
        resumed.push({ deviceKey: e.deviceKey, time: e.time, points: Object.keys(e.measurepoints) });
    });
    await app.subscribeAsync(`org/${creds.orgId}/#`, { qos: 0 });
    const expected = new Set([...durableBeforeKill.slice(before), ...durableSecond]);
    await edge.until(() => {
      const got = new Set(resumed.map((r) => `${r.deviceKey} ${r.time}`));
      return [...expected].every((k) => got.has(k));
    }, 60_000);

    // exactly once per (device, timestamp): no reading replayed twice
    const keys = resumed.map((r) => `${r.deviceKey} ${r.time}`);
    expect(keys.length).toBe(new Set(keys).size);
    // in order, per device
    for (const dk of ['inverter-1', 'fan-1', 'storage-1']) {
      const times = resumed.filter((r) => r.deviceKey === dk).map((r) => r.time);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    // and stored: the history has every durable reading of the fan, once
    const fanTimes = [...expected].filter((k) => k.startsWith('fan-1 ')).map((k) => Number(k.split(' ')[1]));
    const history = await new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret }).ok<{
      items: { time: number }[];
    }>(
      'POST',
      '/connect-service/v2.1/measurepoints',
      { action: 'queryHistory', orgId: creds.orgId, productKey: site.subProductKey, deviceKey: 'fan-1' },
      { measurepoints: ['speed'], startTime: Math.min(...fanTimes), endTime: Math.max(...fanTimes) + 1, pageSize: 1000 },
    );
    const stored = history.data.items.map((i) => i.time);
    expect(fanTimes.every((t) => stored.includes(t))).toBe(true);
    // The only readings of the killed edge that may be missing are those it had taken but not yet
    // made durable when SIGKILL hit: they belong to its last moments (the last poll cycles), never
    // to earlier in the outage.
    const lastRead = Math.max(...readBeforeKill.map((k) => Number(k.split(' ')[1])));
    const outageStart = Math.min(...durableBeforeKill.slice(before).map((k) => Number(k.split(' ')[1])));
    const lost = readBeforeKill.filter((k) => Number(k.split(' ')[1]) >= outageStart && !durableBeforeKill.includes(k));
    for (const k of lost) expect(lastRead - Number(k.split(' ')[1]), `reading ${k} was lost`).toBeLessThanOrEqual(300);
  }, 120_000);
});
