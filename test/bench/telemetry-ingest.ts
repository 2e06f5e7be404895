/**
 * Telemetry ingestion and queryLatest, each against its peer (test/bench/telemetry-bench.ts):
 * - post/batch through the hub (MQTT, JSON, thing-model check, durable write, `_reply`) against one
 *   append of the same rows, in the row-per-sample layout, straight into LMDB;
 * - queryLatest over signed REST against the store's `latest` read for the same devices.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';
import type { TestDevice } from '../src/index.js';
import { startBareServer, type BareServer } from './bare-server.js';
import type { SampleInput, TelemetryStore } from '../../hub/src/telemetry/store/port.js';

export const POINTS = 10;
export const pointIds = Array.from({ length: POINTS }, (_, i) => `p${i}`);

export interface Run {
  points: number;
  cpuS: number;
  wallS: number;
}

/** A slowly changing sensor at 0.1 resolution: what regular DOUBLE telemetry looks like. */
export const sensor = (i: number, p: number) => 20 + p + Math.round(10 * Math.sin((i + 37 * p) / 500)) / 10;

/** One post/batch request body of `entries` entries × POINTS points, one second apart from `t0`. */
export function batchPayload(id: string, t0: number, first: number, entries: number): Buffer {
  const params = Array.from({ length: entries }, (_, i) => ({
    time: t0 + (first + i) * 1000,
    measurepoints: Object.fromEntries(pointIds.map((p, k) => [p, sensor(first + i, k)])),
  }));
  return Buffer.from(JSON.stringify({ id, version: '1.0', method: 'thing.measurepoint.post.batch', params }));
}

/** The same rows as store samples. */
export function batchSamples(assetId: string, t0: number, first: number, entries: number): SampleInput[] {
  const out: SampleInput[] = [];
  for (let i = 0; i < entries; i++)
    pointIds.forEach((pointId, k) =>
      out.push({ assetId, orgId: 'o', pointId, time: t0 + (first + i) * 1000, value: sensor(first + i, k) }),
    );
  return out;
}

const measure = async (points: number, run: () => Promise<void>): Promise<Run> => {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const cpu = process.cpuUsage(cpu0);
  return { points, cpuS: (cpu.user + cpu.system) / 1e6, wallS: (performance.now() - t0) / 1000 };
};

/** Sends the requests one after another, each after the previous reply (a backfilling device). */
export function hubBatches(device: TestDevice, payloads: Buffer[], pointsPerPayload: number): Promise<Run> {
  const topic = topics.measurepointPostBatch(device.creds.productKey, device.creds.deviceKey);
  const replyTopic = topics.reply(topic);
  return measure(payloads.length * pointsPerPayload, async () => {
    for (const p of payloads) {
      const replied = new Promise<void>((resolve, reject) => {
        const on = (t: string, body: Buffer) => {
          if (t !== replyTopic) return;
          device.client.off('message', on);
          const code = (JSON.parse(body.toString('utf8')) as { code: number }).code;
          if (code === 200) resolve();
          else reject(new Error(`post/batch answered ${body.toString('utf8').slice(0, 200)}`));
        };
        device.client.on('message', on);
      });
      device.client.publish(topic, p, { qos: 1 });
      await replied;
    }
  });
}

/** The peer: each batch as one transaction of row puts (and latest once per series) in a bare LMDB environment. */
export async function rawAppends(batches: SampleInput[][]): Promise<Run & { close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-telemetry-raw-'));
  const env = open({ path: dir, maxDbs: 4, overlappingSync: false });
  const samples = env.openDB({ name: 'samples', encoding: 'msgpack' });
  const latest = env.openDB({ name: 'latest', encoding: 'msgpack' });
  const run = await measure(
    batches.reduce((n, b) => n + b.length, 0),
    async () => {
      for (const batch of batches) {
        const newest = new Map<string, SampleInput>();
        for (const s of batch) newest.set(`${s.assetId}\u0000${s.pointId}`, s);
        await env.childTransaction(() => {
          for (const s of batch) samples.putSync([s.assetId, s.pointId, s.time], { v: s.value });
          for (const s of newest.values()) latest.putSync([s.assetId, 'm', s.pointId], { o: s.orgId, t: s.time, v: s.value });
        });
      }
    },
  );
  return {
    ...run,
    async close() {
      await env.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface LatestTimes {
  restMs: number[];
  directMs: number[];
  /**
   * JSON.stringify and JSON.parse of the very answer the REST call returned: the encoding every JSON
   * API pays on top of the store read, whatever its server does (the floor of the REST path).
   */
  jsonMs: number[];
  /** Size of that answer as JSON, bytes. */
  answerBytes: number;
  /**
   * The same signed call, by the same client, to a bare fastify server answering the hub's answer as
   * a fixed, already serialized text (test/bench/bare-server.ts): HTTP and the client alone, without
   * store, checks or encoding. Empty when no bare server was given.
   */
  bareMs: number[];
  /**
   * The same call to the floor peer (`startLatestFloor`): bare fastify that reads the store for the
   * named devices and encodes the answer, what any JSON REST server must do for this call. Empty when
   * no floor was given.
   */
  floorMs: number[];
}

/** The peers `latestRounds` calls beside the hub, each with the same client and the same signed call. */
export interface LatestPeers {
  bare?: BareServer;
  floor?: BareServer;
}

const LATEST_PATH = '/connect-service/v2.1/measurepoints';

/**
 * A bare fastify server that answers queryLatest with the hub's very answer to these devices, for
 * `latestRounds`' bare call: one REST call to the hub gives the bytes.
 */
export async function startLatestPeer(client: ApiClient, orgId: string, assetIds: string[]): Promise<BareServer> {
  const { status: _status, ...answer } = await client.call('POST', LATEST_PATH, { action: 'queryLatest', orgId }, { assetIds });
  return startBareServer({}, { [LATEST_PATH]: JSON.stringify(answer) });
}

/**
 * The floor peer: a bare fastify server (no hooks, no schema, no checks) whose queryLatest route does
 * only what a JSON REST answer to it cannot skip: the same `latest` read of the store for the devices
 * the body names, the answer built in the hub's shape (the devices' keys from a map in memory, as a
 * single hub holds them) and encoded by fastify's default serializer (`JSON.stringify`).
 */
export async function startLatestFloor(
  store: TelemetryStore,
  devices: readonly { assetId: string; productKey: string; deviceKey: string }[],
): Promise<BareServer> {
  const byAssetId = new Map(devices.map((d) => [d.assetId, d]));
  return startBareServer(
    {},
    {
      [LATEST_PATH]: async (body) => {
        const assetIds = (body as { assetIds: string[] }).assetIds;
        const latest = await store.latest(assetIds);
        const data = assetIds.map((assetId) => {
          const d = byAssetId.get(assetId)!;
          return { assetId, productKey: d.productKey, deviceKey: d.deviceKey, measurepoints: latest.get(assetId) ?? {} };
        });
        return { code: 0, msg: 'OK', requestId: 'floor', data };
      },
    },
  );
}

/**
 * Alternates a REST queryLatest and a direct store read of the same devices, `calls` times each,
 * and times a JSON round trip of the REST answer after each; then the same call to each peer given.
 */
export async function latestRounds(
  client: ApiClient,
  orgId: string,
  store: TelemetryStore,
  assetIds: string[],
  calls: number,
  { bare, floor }: LatestPeers = {},
): Promise<LatestTimes> {
  const out: LatestTimes = { restMs: [], directMs: [], jsonMs: [], answerBytes: 0, bareMs: [], floorMs: [] };
  // Each peer's answer carries the hub's very data (checked once, off the clock).
  const peerCall = async (peer: BareServer, name: string, hubData: unknown[], check: boolean): Promise<number> => {
    const t = performance.now();
    const b = await peer.client.call<unknown[]>('POST', LATEST_PATH, { action: 'queryLatest', orgId }, { assetIds });
    const ms = performance.now() - t;
    if (b.code !== 0 || (check && JSON.stringify(b.data) !== JSON.stringify(hubData)))
      throw new Error(`the ${name} peer's answer differs from the hub's: ${JSON.stringify(b).slice(0, 200)}`);
    return ms;
  };
  for (let i = 0; i < calls; i++) {
    let t = performance.now();
    const r = await client.call<{ measurepoints: Record<string, unknown> }[]>(
      'POST',
      LATEST_PATH,
      { action: 'queryLatest', orgId },
      { assetIds },
    );
    out.restMs.push(performance.now() - t);
    if (r.code !== 0 || r.data.length !== assetIds.length) throw new Error(`queryLatest answered ${JSON.stringify(r).slice(0, 200)}`);
    t = performance.now();
    const m = await store.latest(assetIds);
    out.directMs.push(performance.now() - t);
    if (m.size !== assetIds.length) throw new Error('direct latest read missed devices');
    const { status: _status, ...answer } = r;
    t = performance.now();
    const text = JSON.stringify(answer);
    const back = JSON.parse(text) as { data: unknown[] };
    out.jsonMs.push(performance.now() - t);
    out.answerBytes = Buffer.byteLength(text);
    if (back.data.length !== assetIds.length) throw new Error('JSON round trip lost devices');
    if (bare) out.bareMs.push(await peerCall(bare, 'bare', r.data, i === 0));
    if (floor) out.floorMs.push(await peerCall(floor, 'floor', r.data, i === 0));
  }
  return out;
}
