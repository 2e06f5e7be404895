import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Edge, loadEdgeConfig, modbusSouthbound, type EdgeConfig } from '@edgehub/edge';
import { edgeSite, newTenant, runModuleScript, startHub, type EdgeSite, type RunningHub } from '../src/index.js';

/**
 * The edge's uplink on each transport its config allows (`hub.mqttUrl`: mqtt, mqtts, ws, wss). The
 * TCP and TLS sockets are the edge's own (edge/src/uplink/transport.ts), so that an mqtt:// uplink
 * does not load mqtt.js's other transports; the WebSocket one is mqtt.js's.
 */
describe('edge uplink transports', () => {
  let h: RunningHub;
  let t: Awaited<ReturnType<typeof newTenant>>;
  let site: EdgeSite;

  beforeAll(async () => {
    h = await startHub();
    t = await newTenant(h, 'edge-transport');
    site = await edgeSite(t.client, t, { baseUrl: h.baseUrl, mqttUrl: h.mqttUrl }, { pollIntervalMs: 100 });
  });
  afterAll(async () => {
    await site?.stop();
    await h?.close();
    if (site) await rm(site.dir, { recursive: true, force: true });
  });

  /** Starts the edge with its config changed by `adjust`, waits for a reading of fan-1 to reach the hub's stream, and stops it. */
  async function deliversOver(adjust: (c: EdgeConfig) => void): Promise<{ connected: boolean }> {
    const config = await loadEdgeConfig(site.configFile);
    adjust(config);
    let arrive = () => {};
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const unsubscribe = await h.hub.stream.subscribe(`org/${t.orgId}/#`, (e) => {
      if (e.type === 'measurepoints' && e.deviceKey === 'fan-1') arrive();
    });
    const edge = await Edge.start(config, modbusSouthbound, pino({ level: 'silent' }));
    try {
      await arrived;
      return { connected: edge.status().uplink.connected };
    } finally {
      await unsubscribe();
      await edge.stop();
    }
  }

  it('delivers readings over a ws:// uplink', async () => {
    expect(await deliversOver((c) => (c.hub.mqttUrl = h.wsUrl))).toEqual({ connected: true });
  });

  it('delivers readings over an mqtts:// uplink that checks the hub against its CA, and refuses a hub it cannot verify', async () => {
    expect(
      await deliversOver((c) => {
        c.hub.mqttUrl = h.mqttsUrl;
        c.hub.caFile = h.tlsCaPath;
      }),
    ).toEqual({ connected: true });

    // Without the CA the hub's certificate does not verify: the edge stays disconnected and says why.
    const config = await loadEdgeConfig(site.configFile);
    config.hub.mqttUrl = h.mqttsUrl;
    const errors: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void errors.push(line) });
    const edge = await Edge.start(config, modbusSouthbound, log);
    try {
      await expect.poll(() => errors.some((l) => l.includes('uplink error')), { timeout: 10_000 }).toBe(true);
      expect(edge.status().uplink.connected).toBe(false);
      expect(errors.join('\n')).toMatch(/certificate/i);
    } finally {
      await edge.stop();
    }
  });

  it('loads neither the WebSocket library nor the SOCKS client for an mqtt:// or mqtts:// uplink', () => {
    // A fresh process: the hub in this one loads ws for its own WebSocket listener.
    const script = [
      "import { createRequire } from 'node:module';",
      "import { openMqttClient } from './edge/src/uplink/transport.ts';",
      'const require = createRequire(import.meta.url);',
      "const loaded = () => [...new Set(Object.keys(require.cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(f)?.[1]).filter(Boolean))].filter((p) => ['ws', 'socks'].includes(p)).sort();",
      'const seen = {};',
      "for (const url of ['mqtt://127.0.0.1:9', 'mqtts://127.0.0.1:9', 'ws://127.0.0.1:9/mqtt']) {",
      "  const c = openMqttClient(url, { clientId: 'probe', reconnectPeriod: 0 });",
      "  c.on('error', () => {});",
      '  seen[url] = loaded();',
      '  c.end(true);',
      '}',
      'console.log(JSON.stringify(seen));',
    ].join('\n');
    const r = runModuleScript(script);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      'mqtt://127.0.0.1:9': [],
      'mqtts://127.0.0.1:9': [],
      // the probe sees a package once it is loaded: a ws:// uplink needs both (mqtt.js loads them together)
      'ws://127.0.0.1:9/mqtt': ['socks', 'ws'],
    });
  });
});
