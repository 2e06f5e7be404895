import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@edgehub/hub';
import { connectApp, edgeSite, freePort, spawnEdge, spawnHub, type AdminCredentials, type SpawnedEdge } from '../src/index.js';

/**
 * Append before send, with real processes (docs/ARCHITECTURE.md, "Edge: delivery"): while the hub
 * is up and readings flow live, a reading is durable in the edge's buffer before it goes out, so a
 * SIGKILL after that loses nothing — not the reading just taken, not the batch in flight.
 */
describe('edge killed while sending live', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('delivers every reading it had taken once that reading was durable, after a kill -9 and a restart', async () => {
    const hubDir = await mkdtemp(join(tmpdir(), 'edgehub-kill-'));
    cleanup.push(() => rm(hubDir, { recursive: true, force: true }));
    const hub = await spawnHub({
      HUB_DATA_DIR: hubDir,
      HUB_HTTP_PORT: String(await freePort()),
      HUB_MQTT_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    });
    cleanup.push(() => hub.stop());
    const creds = JSON.parse(await readFile(join(hubDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
    const api = new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
    const site = await edgeSite(
      api,
      { orgId: creds.orgId, accessKey: creds.accessKey, accessSecret: creds.accessSecret },
      { baseUrl: hub.baseUrl, mqttUrl: hub.mqttUrl! },
      { pollIntervalMs: 150 },
    );
    cleanup.push(() => site.stop());
    cleanup.push(() => rm(site.dir, { recursive: true, force: true }));

    // An application watches every reading that reaches the hub, live or replayed.
    const app = await connectApp(hub.mqttUrl!, creds.accessKey, creds.accessSecret, 'kill-watch');
    cleanup.push(() => app.endAsync(true));
    const arrived = new Set<string>();
    app.on('message', (_t, payload) => {
      const e = JSON.parse(payload.toString()) as { type: string; deviceKey: string; time: number };
      if (e.type === 'measurepoints') arrived.add(`${e.deviceKey} ${e.time}`);
    });
    await app.subscribeAsync(`org/${creds.orgId}/#`, { qos: 0 });

    let edge: SpawnedEdge = await spawnEdge(site.configFile);
    cleanup.push(() => edge.stop('SIGKILL'));
    // live: readings flow to the hub
    await edge.until(() => edge.read.length >= 9 && edge.read.some((k) => arrived.has(k)));

    // The next reading taken: the edge is killed the moment it is durable, usually before the
    // live sender (which waits up to 200 ms to batch) has had the hub's reply for it.
    const n = edge.read.length;
    await edge.until(() => edge.read.length > n);
    const last = edge.read[edge.read.length - 1]!;
    await edge.until(() => edge.durable.includes(last));
    await edge.stop('SIGKILL');
    const taken = [...edge.read.slice(0, edge.read.indexOf(last) + 1)];

    // Restarted, the edge sends what its buffer holds: every reading taken up to `last` arrives.
    edge = await spawnEdge(site.configFile);
    await edge.until(() => taken.every((k) => arrived.has(k)), 30_000);

    const fanTimes = taken.filter((k) => k.startsWith('fan-1 ')).map((k) => Number(k.split(' ')[1]));
    const history = await api.ok<{ items: { time: number }[] }>(
      'POST',
      '/connect-service/v2.1/measurepoints',
      { action: 'queryHistory', orgId: creds.orgId, productKey: site.subProductKey, deviceKey: 'fan-1' },
      { measurepoints: ['speed'], startTime: Math.min(...fanTimes), endTime: Math.max(...fanTimes) + 1, pageSize: 1000 },
    );
    const stored = new Set(history.data.items.map((i) => i.time));
    expect(fanTimes.filter((x) => !stored.has(x))).toEqual([]);
  }, 90_000);
});
