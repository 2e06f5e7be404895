/** The `## Apple MDM` section of docs/BENCHMARKS.md, between its own markers. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Machine } from './machine.js';
import { DOC_PATH } from './report.js';
import { median, type LatencySummary } from './stats.js';

export interface IosRound {
  peer: 'plugin' | 'bare';
  round: number;
  commands: number;
  wallMs: number;
  /** Until the last command was stored (plugin) or the last push answered (bare). */
  enqueuedMs: number;
  /** Burst start → COMPLETED (plugin) / → Acknowledged received (bare), per command. */
  latency: LatencySummary;
  cpuSeconds: number;
}

export interface IosBenchResults {
  date: Date;
  durationS: number;
  machine: Machine;
  loadAverage: { start: number; end: number };
  devices: number;
  pushConcurrency: number;
  identitySeconds: number;
  enrollSeconds: number;
  rounds: IosRound[];
}

const START = '<!-- bench:ios:start -->';
const END = '<!-- bench:ios:end -->';
const HEADING = '## Apple MDM: the command loop';

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const ms = (n: number) => (!Number.isFinite(n) ? '—' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (n: number) => (!Number.isFinite(n) ? '—' : `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`);

function peerSummary(rounds: IosRound[]) {
  return {
    rate: median(rounds.map((r) => r.commands / (r.wallMs / 1000))),
    rates: rounds.map((r) => r.commands / (r.wallMs / 1000)),
    p50: median(rounds.map((r) => r.latency.p50)),
    p99: median(rounds.map((r) => r.latency.p99)),
    enqueued: median(rounds.map((r) => r.enqueuedMs)),
    cpuPerCommandMs: median(rounds.map((r) => (r.cpuSeconds * 1000) / r.commands)),
  };
}

export function renderIosSection(r: IosBenchResults): string {
  const plugin = peerSummary(r.rounds.filter((x) => x.peer === 'plugin'));
  const bare = peerSummary(r.rounds.filter((x) => x.peer === 'bare'));
  const m = r.machine;
  return `Measured ${r.date.toISOString().slice(0, 16).replace('T', ' ')} UTC in ${r.durationS.toFixed(0)} s by \`npm run bench -- ios\`
(test/bench/ios-bench.ts). Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, store on
${m.tmpFilesystem}; 1-minute load average ${r.loadAverage.start.toFixed(2)} at the start, ${r.loadAverage.end.toFixed(2)} at the end.
Everything runs in one process: the plugin, the APNs simulator and ${int(r.devices)} simulated iPhones.

### DeviceLock to ${int(r.devices)} iPhones in one burst

The loop: the administrator's call stores a DeviceLock per phone and queues its wake-up → the
push worker (${r.pushConcurrency} pushes in flight) → APNs simulator over HTTP/2 with mutual TLS → the
phone checks in with \`Idle\` (signed, \`Mdm-Signature\`) → receives the DeviceLock plist → answers
\`Acknowledged\` → the operation is COMPLETED in the store. The peer is the same loop with the
plugin replaced by a bare HTTP server that answers a canned plist and stores nothing: the same
phones, signatures on the wire, APNs client and simulator. Median of ${r.rounds.length / 2} rounds per peer, alternated.

| | commands/s | p50 burst→done (ms) | p99 burst→done (ms) | all stored/pushed after (ms) | CPU per command (ms) |
|---|---:|---:|---:|---:|---:|
| iOS plugin | ${int(plugin.rate)} | ${ms(plugin.p50)} | ${ms(plugin.p99)} | ${ms(plugin.enqueued)} | ${ms(plugin.cpuPerCommandMs)} |
| bare HTTP server (peer) | ${int(bare.rate)} | ${ms(bare.p50)} | ${ms(bare.p99)} | ${ms(bare.enqueued)} | ${ms(bare.cpuPerCommandMs)} |
| plugin / peer | ${ratio(plugin.rate / bare.rate)} | ${ratio(plugin.p50 / bare.p50)} | ${ratio(plugin.p99 / bare.p99)} | | ${ratio(plugin.cpuPerCommandMs / bare.cpuPerCommandMs)} |

Rounds (commands/s): plugin ${plugin.rates.map(int).join(', ')}; peer ${bare.rates.map(int).join(', ')}.
Setup, not part of the loop: ${int(r.devices)} identity certificates issued in ${r.identitySeconds.toFixed(1)} s; the
phones enrolled (Authenticate + TokenUpdate, 64 at a time) in ${r.enrollSeconds.toFixed(1)} s.

### Reading these numbers

- Latencies run from the start of the burst, so with every phone locked at once the p99 is close
  to the time the whole burst takes; p50 is the typical phone.
- The plugin's share is the store (an operation record written at enqueue, at IN_PROGRESS and at
  COMPLETED, each a durable LMDB commit), parsing and verifying each request's CMS signature, and
  rendering the command with the plist library; the peer does none of these.
- The phones sign every request in the same process in both peers; a real fleet signs on its own
  CPUs, so both absolute rates understate what the server alone sustains.
- This loop runs the plugin standalone (IosPlugin with its store-backed LocalMdmQueue and its own
  push worker), not inside the hub's command core and push queue; the hub path is covered by
  test/integration/ios-e2e.test.ts but not measured here yet.
- The issue's target is 10,000 phones and ≥ 2,000 commands/s; on this shared machine (load
  average above 8 on 2 CPUs) neither was reached, see the rates above.`;
}

export async function writeIosSection(section: string): Promise<string> {
  const block = `${START}\n${section}\n${END}`;
  if (!existsSync(DOC_PATH)) throw new Error(`${DOC_PATH} is missing`);
  let doc = await readFile(DOC_PATH, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start >= 0 && end > start) doc = doc.slice(0, start) + block + doc.slice(end + END.length);
  else doc = `${doc.trimEnd()}\n\n${HEADING}\n\n${block}\n`;
  await writeFile(DOC_PATH, doc);
  return DOC_PATH;
}
