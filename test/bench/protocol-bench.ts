/**
 * `npm run bench -- protocol` (docs/PROTOCOL.md §7.1, §7.4): what raw payloads and alert rules cost
 * on the device fan-in path, each against a peer measured in the same run, rounds alternating.
 *
 * 1. CBOR vs JSON ingestion: the same measurepoint posts from the same number of real mqtt.js
 *    devices, once as JSON on `thing/measurepoint/post`, once as CBOR on `thing/model/up_raw` of a
 *    Custom product; QoS 1, every reply awaited. Figure: messages per CPU-second of the process.
 * 2. 100 alert rules per product vs none: JSON posts to a product with 100 enabled rules on its
 *    measurepoints (none triggering) vs a product without rules; the CPU count includes waiting
 *    for every queued rule evaluation to finish.
 *
 * Devices and hub share one process (loopback, payloads encoded before the clock starts, so the
 * client side costs the same for both peers); the ratio, not the absolute rate, is the result.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { cborCodec, topics } from '@edgehub/shared';
import { connectDevice, newTenant, provision, startHub, type ProvisionedProduct, type RunningHub, type TestDevice } from '../src/index.js';
import { describeMachine, type Machine } from './machine.js';
import { DOC_PATH } from './report.js';
import { median } from './stats.js';

const DEVICES = Number(process.env.BENCH_PROTOCOL_DEVICES ?? 10);
const MESSAGES = Number(process.env.BENCH_PROTOCOL_MESSAGES ?? 1000);
const ROUNDS = Number(process.env.BENCH_PROTOCOL_ROUNDS ?? 5);
const RULES = 100;
const T0 = 1_700_000_000_000;
const log = (msg: string) => console.error(`[bench:protocol] ${msg}`);

type Peer = 'json' | 'cbor' | 'rules0' | 'rules100';
interface Round {
  peer: Peer;
  round: number;
  messages: number;
  wallMs: number;
  cpuSeconds: number;
}

const model = {
  measurepoints: { temp: { dataType: 'DOUBLE' }, power: { dataType: 'DOUBLE' }, speed: { dataType: 'INT' }, state: { dataType: 'STRING' } },
};

interface Fleet {
  devices: TestDevice[];
  /** Pre-encoded payloads per device, and the topic they go to. */
  payloads: Buffer[][];
  topic: (d: TestDevice) => string;
}

async function fleet(h: RunningHub, product: ProvisionedProduct, encode: (i: number, d: number) => Buffer, raw: boolean): Promise<Fleet> {
  const devices = await Promise.all(product.devices.map((p) => connectDevice(h.mqttUrl, p)));
  const payloads = devices.map((_, d) => Array.from({ length: MESSAGES }, (_, i) => encode(i, d)));
  const topic = (d: TestDevice) =>
    raw ? topics.upRaw(d.creds.productKey, d.creds.deviceKey) : topics.measurepointPost(d.creds.productKey, d.creds.deviceKey);
  return { devices, payloads, topic };
}

async function round(h: RunningHub, f: Fleet, peer: Peer, n: number, settle: boolean): Promise<Round> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    f.devices.map(async (d, di) => {
      const topic = f.topic(d);
      const replyTopic = topics.reply(topic);
      let got = 0;
      const done = new Promise<void>((resolve) => {
        const on = (t: string) => {
          if (t === replyTopic && ++got === MESSAGES) {
            d.client.off('message', on);
            resolve();
          }
        };
        d.client.on('message', on);
      });
      for (const p of f.payloads[di]!) d.client.publish(topic, p, { qos: 1 });
      await done;
    }),
  );
  if (settle) await h.hub.alerts.settled();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { peer, round: n, messages: DEVICES * MESSAGES, wallMs, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

export async function runProtocolBenchmarks(): Promise<void> {
  const startedAt = new Date();
  const loadStart = loadavg()[0] ?? NaN;
  const h = await startHub();
  try {
    const { client: c, orgId } = await newTenant(h, 'bench-protocol');
    const keys = (p: string) => Array.from({ length: DEVICES }, (_, i) => `${p}-${i}`);
    const [jsonP, cborP, ruledP] = await Promise.all([
      provision(c, orgId, { productType: 'Device', deviceKeys: keys('json'), product: { thingModel: model } }),
      provision(c, orgId, { productType: 'Device', deviceKeys: keys('cbor'), product: { thingModel: model, dataFormat: 'Custom' } }),
      provision(c, orgId, { productType: 'Device', deviceKeys: keys('ruled'), product: { thingModel: model } }),
    ]);
    await c.ok(
      'POST',
      '/connect-service/v2.1/products',
      { action: 'setCodec', orgId, productKey: cborP.productKey },
      { codec: { type: 'cbor' } },
    );
    // 100 rules over the four measurepoints, thresholds the data never reaches (evaluated, never opened).
    const points = ['temp', 'power', 'speed', 'state'];
    for (let i = 0; i < RULES; i++) {
      const point = points[i % points.length]!;
      const trigger = point === 'state' ? { op: 'eq', value: `fault-${i}` } : { op: 'gt', value: 1_000_000 + i };
      await c.ok(
        'POST',
        '/connect-service/v2.1/alert-rules',
        { action: 'create', orgId },
        { productKey: ruledP.productKey, name: `rule ${i}`, severity: 'warning', source: { measurepoint: point }, trigger },
      );
    }
    const params = (i: number, d: number) => ({
      measurepoints: { temp: 20 + ((i + d) % 50) / 10, power: 1000 + i, speed: i % 3000, state: 'running' },
      time: T0 + i,
    });
    const json = (i: number, d: number) =>
      Buffer.from(JSON.stringify({ id: String(i + 1), version: '1.0', method: 'thing.measurepoint.post', params: params(i, d) }));
    const cbor = (i: number, d: number) => cborCodec.encode({ id: String(i + 1), method: 'thing.measurepoint.post', params: params(i, d) });
    const fleets = {
      json: await fleet(h, jsonP, json, false),
      cbor: await fleet(h, cborP, cbor, true),
      rules100: await fleet(h, ruledP, json, false),
    };
    const bytes = { json: fleets.json.payloads[0]![0]!.length, cbor: fleets.cbor.payloads[0]![0]!.length };
    log(
      `${DEVICES} devices × ${MESSAGES} messages per round, ${ROUNDS} rounds per peer; payload ${bytes.json} B JSON vs ${bytes.cbor} B CBOR`,
    );

    // Warm-up (JIT, caches), not reported.
    await round(h, fleets.json, 'json', 0, false);
    await round(h, fleets.cbor, 'cbor', 0, false);
    await round(h, fleets.rules100, 'rules100', 0, true);
    const rounds: Round[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      for (const [peer, f, settle] of [
        ['json', fleets.json, false],
        ['cbor', fleets.cbor, false],
        ['rules0', fleets.json, true],
        ['rules100', fleets.rules100, true],
      ] as const) {
        const res = await round(h, f, peer, r, settle);
        log(
          `${peer} round ${r}: ${Math.round(res.messages / res.cpuSeconds)} msg per CPU-second, ${Math.round(res.messages / (res.wallMs / 1000))} msg/s wall`,
        );
        rounds.push(res);
      }
    }
    for (const f of Object.values(fleets)) await Promise.all(f.devices.map((d) => d.end()));
    const section = render({
      date: startedAt,
      durationS: (Date.now() - startedAt.getTime()) / 1000,
      machine: describeMachine(),
      load: { start: loadStart, end: loadavg()[0] ?? NaN },
      rounds,
      bytes,
    });
    await writeSection(section);
    console.log(section);
  } finally {
    await h.close();
  }
}

interface Results {
  date: Date;
  durationS: number;
  machine: Machine;
  load: { start: number; end: number };
  rounds: Round[];
  bytes: { json: number; cbor: number };
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '—');

function render(r: Results): string {
  const perCpu = (peer: Peer) => median(r.rounds.filter((x) => x.peer === peer).map((x) => x.messages / x.cpuSeconds));
  const perWall = (peer: Peer) => median(r.rounds.filter((x) => x.peer === peer).map((x) => x.messages / (x.wallMs / 1000)));
  const row = (label: string, peer: Peer) => `| ${label} | ${int(perCpu(peer))} | ${int(perWall(peer))} |`;
  return [
    `_Written by \`npm run bench -- protocol\` (test/bench/protocol-bench.ts); everything between the \`bench:protocol\` markers is replaced on the next run._`,
    '',
    `Run ${r.date.toISOString()} (${r.durationS.toFixed(0)} s) on ${r.machine.nproc} × ${r.machine.cpuModel}, Node ${r.machine.node}; 1-minute load ${r.load.start.toFixed(2)} → ${r.load.end.toFixed(2)}.`,
    `${DEVICES} real mqtt.js devices × ${MESSAGES} measurepoint posts (4 points) per round at QoS 1, every reply awaited; ${ROUNDS} rounds per peer, alternating, medians shown.`,
    'Devices and hub share the process (payloads pre-encoded), so the figures are messages per CPU-second of the whole process; the ratios compare peers measured alike.',
    '',
    '| path | msg per CPU-second | msg/s (wall) |',
    '|---|---:|---:|',
    row(`JSON \`thing/measurepoint/post\` (${r.bytes.json} B)`, 'json'),
    row(`CBOR \`thing/model/up_raw\` (${r.bytes.cbor} B)`, 'cbor'),
    row('JSON, product without alert rules (evaluation awaited)', 'rules0'),
    row(`JSON, product with ${RULES} alert rules (evaluation awaited)`, 'rules100'),
    '',
    `- **CBOR vs JSON ingestion: ${ratio(perCpu('cbor') / perCpu('json'))}** per CPU-second (CBOR payload ${ratio(r.bytes.cbor / r.bytes.json)} the size of JSON).`,
    `- **${RULES} alert rules per product vs none: ${ratio(perCpu('rules100') / perCpu('rules0'))}** per CPU-second.`,
    `- Noise gauge: the first and third rows measure the same path (JSON posts, no rules); their ratio here is ${ratio(perCpu('rules0') / perCpu('json'))}. A ratio above that is nearer 1 than this gauge is within the noise of this shared machine.`,
  ].join('\n');
}

const START = '<!-- bench:protocol:start -->';
const END = '<!-- bench:protocol:end -->';
const HEADING = '## Device protocol: CBOR ingestion and alert rules';

async function writeSection(section: string): Promise<void> {
  const block = `${START}\n${section}\n${END}`;
  if (!existsSync(DOC_PATH)) throw new Error(`${DOC_PATH} is missing`);
  let doc = await readFile(DOC_PATH, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start >= 0 && end > start) doc = doc.slice(0, start) + block + doc.slice(end + END.length);
  else doc = `${doc.trimEnd()}\n\n${HEADING}\n\n${block}\n`;
  await writeFile(DOC_PATH, doc);
}
