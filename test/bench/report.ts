import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from './load.js';
import type { Machine } from './machine.js';
import type { MemorySnapshot } from './memory.js';
import type { BatchCreateRun } from './rest-batch-create.js';
import { median } from './stats.js';
import type { StoreInsertRun } from './store-insert.js';

export interface RestBenchResults {
  date: Date;
  durationS: number;
  machine: Machine;
  /** 1-minute load average when the run started and when it ended. */
  loadAverage: { start: number; end: number };
  fastifyVersion: string;
  config: { devices: number; batch: number; runs: number; getWarmup: number; getRequests: number; concurrency: number };
  batchCreate: { rest: BatchCreateRun[]; store: StoreInsertRun[] };
  memory: { before: MemorySnapshot; after: MemorySnapshot; afterGc: MemorySnapshot };
  get: Record<'sequential' | 'concurrent', { hub: LoadResult; bare: LoadResult }>;
  deviceBodyBytes: number;
  /** Request body of one batchCreate call. */
  batchBodyBytes: number;
}

export const DOC_PATH = fileURLToPath(new URL('../../docs/BENCHMARKS.md', import.meta.url));
const START = '<!-- bench:rest:start -->';
const END = '<!-- bench:rest:end -->';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (n: number) => `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const pct = (n: number) => `${(n * 100).toFixed(0)}%`;
const signedMib = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${mib(Math.abs(bytes))}`;

/** Median over runs of the i-th call's wall time. */
const medianCall = (runs: { calls: number[] }[], i: number) => median(runs.map((r) => r.calls[i] ?? NaN));

/** The markdown between the rest markers: what is measured, how, where, the tables, and how to read them. */
export function renderRestSection(r: RestBenchResults): string {
  const { config: c, machine: m } = r;
  const restRates = r.batchCreate.rest.map((x) => x.devicesPerSec);
  const storeRates = r.batchCreate.store.map((x) => x.devicesPerSec);
  const rest = median(restRates);
  const store = median(storeRates);
  // REST and store run back to back in each run, so their per-run ratio shares that run's conditions.
  const paired = r.batchCreate.rest.map((x, i) => (r.batchCreate.store[i]?.devicesPerSec ?? NaN) / x.devicesPerSec);
  const restCalls = r.batchCreate.rest.map((x) => ({ calls: x.callMs }));
  const storeCalls = r.batchCreate.store.map((x) => ({ calls: x.batchMs }));
  const nCalls = Math.ceil(c.devices / c.batch);
  const countMs = median(r.batchCreate.store.map((x) => x.countMs.reduce((a, b) => a + b, 0)));
  const seq = r.get.sequential;
  const conc = r.get.concurrent;
  const mem = r.memory;

  const cpuUs = (l: LoadResult) => (1000 * l.cpuMs) / l.requests;
  const getRows = (label: string, g: { hub: LoadResult; bare: LoadResult }) => [
    `| ${label}: hub, signed \`devices?action=get\` | ${int(g.hub.reqPerSec)} | ${int(cpuUs(g.hub))} | ${ms(g.hub.latency.p50)} | ${ms(g.hub.latency.p99)} | ${ms(g.hub.latency.max)} |`,
    `| ${label}: bare fastify, same body | ${int(g.bare.reqPerSec)} | ${int(cpuUs(g.bare))} | ${ms(g.bare.latency.p50)} | ${ms(g.bare.latency.p99)} | ${ms(g.bare.latency.max)} |`,
    `| ${label}: **hub ÷ bare** | **${ratio(g.hub.reqPerSec / g.bare.reqPerSec)}** | ${ratio(cpuUs(g.hub) / cpuUs(g.bare))} | **${ratio(g.hub.latency.p50 / g.bare.latency.p50)}** | **${ratio(g.hub.latency.p99 / g.bare.latency.p99)}** | ${ratio(g.hub.latency.max / g.bare.latency.max)} |`,
  ];
  const memRow = (label: string, s: MemorySnapshot) =>
    `| ${label} | ${mib(s.rss)} | ${mib(s.heapUsed)} | ${mib(s.heapTotal)} | ${mib(s.external)} |`;

  return [
    `_Written by \`npm run bench\` (test/bench/main.ts); everything between the \`bench:rest\` markers is replaced on the next run._`,
    '',
    `- **Command:** \`npm run bench\` (the whole run took ${r.durationS.toFixed(0)} s)`,
    `- **Date:** ${r.date.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- **Machine:** ${m.nproc} CPUs (\`nproc\`), ${m.cpuModel}, ${m.memoryGiB} GiB RAM, ${m.kernel}; temp dir (the LMDB stores) on ${m.tmpFilesystem}; 1-minute load average ${r.loadAverage.start.toFixed(2)} at the start, ${r.loadAverage.end.toFixed(2)} at the end (the benchmark itself keeps about one CPU busy)`,
    `- **Software:** Node ${m.node}, fastify ${r.fastifyVersion} for both the hub and the bare peer, embedded LMDB store`,
    `- **Setup:** the hub runs in the benchmark process (\`startHub\` from test/src/hub-harness.ts, log level silent) on 127.0.0.1; the client is \`ApiClient\` (Node's fetch, keep-alive) in the same process, so every latency includes the client's signing and JSON parsing, identically for both peers.`,
    '',
    `### batchCreate: ${int(c.devices)} devices`,
    '',
    `${nCalls} signed \`devices?action=batchCreate\` calls of ${int(c.batch)} devices, one after another, into an empty product of a fresh hub; devices/s over all ${int(c.devices)}. Peer: the very records the hub stored, inserted into a fresh embedded store with \`collection.insertMany\`, ${int(c.batch)} per call (one LMDB transaction and sync per batch, as in the hub; the \`count\` the hub runs before each batch is also run but left out of the store's time) — the floor the REST path cannot beat. ${c.runs} runs, each on a fresh hub and a fresh store, REST and store interleaved; medians reported.`,
    '',
    '| Path | devices/s (median) | devices/s, each run | first / last batch, ms (median) |',
    '|---|---:|---|---:|',
    `| REST \`batchCreate\`, signed, ${nCalls} × ${int(c.batch)} | ${int(rest)} | ${restRates.map(int).join(', ')} | ${ms(medianCall(restCalls, 0))} / ${ms(medianCall(restCalls, nCalls - 1))} |`,
    `| Store \`insertMany\`, ${nCalls} × ${int(c.batch)} | ${int(store)} | ${storeRates.map(int).join(', ')} | ${ms(medianCall(storeCalls, 0))} / ${ms(medianCall(storeCalls, nCalls - 1))} |`,
    `| **REST ÷ store** (time per device) | **${ratio(store / rest)}** (of the medians) | ${paired.map(ratio).join(', ')} (run by run) | |`,
    '',
    `### Device GET by assetId, hub holding ${int(c.devices)} devices`,
    '',
    `${int(c.getRequests)} signed \`devices?action=get&assetId=…\` calls for devices drawn at random (fixed seed) after ${int(c.getWarmup)} warm-up calls, first strictly one at a time, then ${c.concurrency} in flight; each mode runs hub, bare, bare, hub on half the calls and merges the halves, so neither peer always goes first. Peer: a bare fastify server (no hooks, no schema, no store) with one GET route on the same path answering the hub's own envelope for a device (${int(r.deviceBodyBytes)} bytes of JSON), driven by the identical client loop and the same picks. Latency in ms, measured around the whole client call; process CPU (client and server share the process) moves less with the machine's load than req/s. For the spread of the ratio over several alternating rounds: \`BENCH_GET_ROUNDS=5 node --import tsx test/bench/rest-get.ts\`.`,
    '',
    '| Run | req/s | process CPU µs per GET | p50 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|',
    ...getRows('1 in flight', seq),
    ...getRows(`${c.concurrency} in flight`, conc),
    '',
    `### Process memory around the first ${int(c.devices)}-device load`,
    '',
    `\`process.memoryUsage()\` of the benchmark process (hub + client) in MiB, before and after the first run's ${nCalls} batchCreate calls. "After GC" forces two full collections first.`,
    '',
    '| Moment | RSS | heap used | heap total | external |',
    '|---|---:|---:|---:|---:|',
    memRow('Before the load (after GC)', mem.before),
    memRow('Right after the load', mem.after),
    memRow('After the load, after GC', mem.afterGc),
    `| **Retained (after GC − before)** | **${signedMib(mem.afterGc.rss - mem.before.rss)}** | **${signedMib(mem.afterGc.heapUsed - mem.before.heapUsed)}** | ${signedMib(mem.afterGc.heapTotal - mem.before.heapTotal)} | ${signedMib(mem.afterGc.external - mem.before.external)} |`,
    '',
    '### Reading these numbers',
    '',
    ...interpretation(r, { rest, store, paired, countMs, nCalls, restCalls, storeCalls }),
  ].join('\n');
}

function interpretation(
  r: RestBenchResults,
  x: {
    rest: number;
    store: number;
    paired: number[];
    countMs: number;
    nCalls: number;
    restCalls: { calls: number[] }[];
    storeCalls: { calls: number[] }[];
  },
): string[] {
  const { config: c } = r;
  const restMs = (c.devices / x.rest) * 1000;
  const storeMs = (c.devices / x.store) * 1000;
  const seq = r.get.sequential;
  const conc = r.get.concurrent;
  const mem = r.memory;
  const last = x.nCalls - 1;
  return [
    `- **batchCreate.** The REST path takes ${ratio(x.store / x.rest)} the time of bare inserts (${ms(restMs)} ms vs ${ms(storeMs)} ms for ${int(c.devices)} devices, medians). ` +
      `REST calls grow from ${ms(medianCall(x.restCalls, 0))} ms to ${ms(medianCall(x.restCalls, last))} ms as the product fills while store batches stay near ${ms(median(x.storeCalls.flatMap((s) => s.calls)))} ms: ` +
      `before every call batchCreate counts the product's devices (the 10,000-per-product limit), and on the raw store those ${x.nCalls} counts over 0…${int(c.devices - c.batch)} devices add up to ${ms(x.countMs)} ms (median; measured on the peer store, not inside the hub). ` +
      `Run by run the ratio moves between ${ratio(Math.min(...x.paired))} and ${ratio(Math.max(...x.paired))}, and both peers' absolute rates swing more than that on this virtual machine: hence several runs, medians and the per-run figures. ` +
      `The rest of the gap is above the store and not broken down here: HTTP, JSON parsing and schema validation of a ${(r.batchBodyBytes / 1024).toFixed(0)} KiB body per call, the SHA-256 request signature over that body, building records with random ids, and the per-item results and their serialization.`,
    `- **Device GET.** At p50 a signed GET takes ${ratio(seq.hub.latency.p50 / seq.bare.latency.p50)} the time of the bare GET, ${ms(Math.abs(seq.hub.latency.p50 - seq.bare.latency.p50))} ms ${seq.hub.latency.p50 >= seq.bare.latency.p50 ? 'more' : 'less'} per call: ` +
      `the hub verifies the token and signature and checks the organization and registration, then reads the device and its product, and validates the query string. The token, application, organization, registration, product and device records are held in memory on a single-writer hub and dropped by the writes that change them (docs/ARCHITECTURE.md, "Registry caches"), so a call reads no store once the device has been read; it costs the SHA-256 of the token (the store keeps only its digest) and the SHA-256 of the signature, compared byte for byte in constant time; where the rest of the time goes (profile by file, hub minus bare): "REST: where the time goes" below. ` +
      `The bare peer is not free either: its ${ms(seq.bare.latency.p50)} ms p50 is the client (signing, fetch, JSON parsing), loopback HTTP and fastify itself, which both peers pay alike, so the ratio understates the server-side difference; the difference in ms is the better measure of what the hub adds. ` +
      `p99 and max say little about the hub: a separate run of the bare loop alone with \`node --trace-gc\` showed young-generation collections of about 4–5 ms every ~40 ms (client and server allocate in the same heap), so the tails of both peers largely reflect pauses of the shared process rather than the hub's request path. ` +
      `With ${c.concurrency} in flight the hub serves ${int(conc.hub.reqPerSec)} req/s and the bare server ${int(conc.bare.reqPerSec)} (${ratio(conc.hub.reqPerSec / conc.bare.reqPerSec)}), ${pct(conc.hub.reqPerSec / seq.hub.reqPerSec)} and ${pct(conc.bare.reqPerSec / seq.bare.reqPerSec)} of their one-at-a-time rates: client and server share one event loop, so the hub's p50 goes from ${ms(seq.hub.latency.p50)} ms to ${ms(conc.hub.latency.p50)} ms for that gain: the extra requests in flight mostly wait their turn.`,
    `- **Memory.** After the load and a full GC the process holds ${signedMib(mem.afterGc.heapUsed - mem.before.heapUsed)} MiB of JS heap and ${signedMib(mem.afterGc.rss - mem.before.rss)} MiB of RSS more than before. The heap grows by about ${int((mem.afterGc.heapUsed - mem.before.heapUsed) / c.devices)} bytes per device, consistent with the devices living in LMDB rather than in JS objects. ` +
      `RSS grew more than the heap; it also counts memory outside the JS heap (LMDB's memory-mapped file pages, native buffers, allocator slack), and this benchmark does not tell those apart.`,
    `- **What these numbers do not say.** One machine and one process: client and hub share ${r.machine.nproc} cores and one event loop, so the absolutes would differ with the client on another machine; compare the ratios between commits, not the absolutes. ` +
      `Loopback only: no network latency, TLS or proxy. Embedded store only; MongoDB is not measured. Writes sync to ${r.machine.tmpFilesystem.split(' ')[0]} on a virtual disk of a shared VM; figures swing between runs, which is why each run is shown. ` +
      `The p99 of ${int(c.getRequests)} calls rests on ${int(c.getRequests / 100)} samples and the max on one, so both move from run to run. Nothing here is a capacity figure for production.`,
  ];
}

const SKELETON = `# Benchmarks

Speed and memory are measured here, never in timed unit tests. Every figure is given next to a
peer measured in the same run on the same machine, and the ratio is what to compare between
commits: absolute numbers move with the machine.

Each section below is written by its benchmark script between \`<!-- bench:NAME:start -->\` and
\`<!-- bench:NAME:end -->\` markers; text outside the markers is kept as it is. To add a benchmark
(MQTT vs bare aedes and Mosquitto, certificate issuance, …), add a \`## …\` section with its own
markers and have the script rewrite only those.

`;

/** Replaces the rest section of docs/BENCHMARKS.md between its markers, creating the file or section if missing. */
export async function writeRestSection(section: string): Promise<string> {
  const block = `${START}\n${section}\n${END}`;
  let doc = existsSync(DOC_PATH) ? await readFile(DOC_PATH, 'utf8') : SKELETON;
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start >= 0 && end > start) {
    doc = doc.slice(0, start) + block + doc.slice(end + END.length);
  } else {
    doc = `${doc.trimEnd()}\n\n## REST registry\n\n${block}\n`;
  }
  await writeFile(DOC_PATH, doc);
  return DOC_PATH;
}
