/** The `## Android: the FCM wake-up loop` section of docs/BENCHMARKS.md, between its own markers. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Machine } from './machine.js';
import { DOC_PATH } from './report.js';
import type { LatencySummary } from './stats.js';

export interface AndroidRound {
  peer: 'hub' | 'bare';
  commands: number;
  /** From the start of the burst to the last COMPLETED. */
  wallMs: number;
  /** Until every operation was stored (hub: the lock-devices call returned) or queued in memory (peer). */
  enqueuedMs: number;
  /** Per command: stored/queued → COMPLETED received. */
  latency: LatencySummary;
  /** Whole-process CPU (hub or peer, FCM simulator and agents alike) per command. */
  cpuMsPerCommand: number;
  pushes: number;
}

export interface AndroidBenchResults {
  date: Date;
  durationS: number;
  machine: Machine;
  loadAverage: { start: number; end: number };
  devices: number;
  pushConcurrency: number;
  enrollSeconds: number;
  tokenExchanges: number;
  rounds: AndroidRound[];
}

const START = '<!-- bench:android:start -->';
const END = '<!-- bench:android:end -->';
const HEADING = '## Android: the FCM wake-up loop';

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const ms = (n: number) => (!Number.isFinite(n) ? '—' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (n: number) => (!Number.isFinite(n) ? '—' : `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`);

export function renderAndroidSection(r: AndroidBenchResults): string {
  const hub = r.rounds.find((x) => x.peer === 'hub')!;
  const bare = r.rounds.find((x) => x.peer === 'bare')!;
  const rate = (x: AndroidRound) => x.commands / (x.wallMs / 1000);
  const m = r.machine;
  return `Measured ${r.date.toISOString().slice(0, 16).replace('T', ' ')} UTC in ${r.durationS.toFixed(0)} s by \`npm run bench -- android\`
(test/bench/android-bench.ts). Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, store on
${m.tmpFilesystem}; 1-minute load average ${r.loadAverage.start.toFixed(2)} at the start, ${r.loadAverage.end.toFixed(2)} at the end.
Everything runs in one process: the hub (or the peer), the FCM simulator and ${int(r.devices)} simulated agents.

### DEVICE_LOCK to ${int(r.devices)} Android agents in one burst

The loop: one \`POST …/android/v1.0/admin/devices/lock-devices\` for all devices → the command core
stores a DEVICE_LOCK per device and queues its wake-up → the wake worker (${r.pushConcurrency} pushes in flight) →
the FCM HTTP v1 provider (one cached OAuth2 access token) → FCM simulator → the agent calls
\`pending-operations\` with its device token, gets the operation, locks, and reports COMPLETED in its
next call → stored. The peer is the same agents, FCM simulator and FCM provider (${r.pushConcurrency} in flight)
in front of a bare HTTP server that keeps one operation per device in memory and stores nothing.
One round per peer, the peer first.

| | commands/s | p50 stored→COMPLETED (ms) | p99 stored→COMPLETED (ms) | all stored after (ms) | CPU per command (ms) |
|---|---:|---:|---:|---:|---:|
| hub | ${int(rate(hub))} | ${ms(hub.latency.p50)} | ${ms(hub.latency.p99)} | ${ms(hub.enqueuedMs)} | ${ms(hub.cpuMsPerCommand)} |
| bare HTTP server (peer) | ${int(rate(bare))} | ${ms(bare.latency.p50)} | ${ms(bare.latency.p99)} | ${ms(bare.enqueuedMs)} | ${ms(bare.cpuMsPerCommand)} |
| hub / peer | ${ratio(rate(hub) / rate(bare))} | ${ratio(hub.latency.p50 / bare.latency.p50)} | ${ratio(hub.latency.p99 / bare.latency.p99)} | | ${ratio(hub.cpuMsPerCommand / bare.cpuMsPerCommand)} |

FCM messages sent: hub ${int(hub.pushes)}, peer ${int(bare.pushes)}; access-token exchanges over the whole run: ${int(r.tokenExchanges)}.
Setup, not part of the loop: the hub's ${int(r.devices)} agents enrolled (OAuth2 bearer, ${64} at a time) in ${r.enrollSeconds.toFixed(1)} s.

### Reading these numbers

- Latency runs from the moment each operation was stored (hub: its \`createdAt\`; peer: when it was
  queued in memory) to the moment its COMPLETED result was stored; with every device locked at
  once the p99 is close to the time the whole burst takes.
- The hub's share: the lock-devices call validates and stores ${int(r.devices)} operation records and one
  activity; each agent call checks the device token (SHA-256, constant time), reads the device,
  stores the result and marks the next operations sent — durable LMDB commits each — and the wake
  queue coalesces per device. The peer does none of this.
- "CPU per command" is the whole process (server, FCM simulator, agents) divided by the commands;
  the agents and the simulator cost the same in both peers.
- The hub's rate is bounded by the lock-devices call: it stores the operations one after another
  (the "all stored after" column is most of the burst), and each device is woken as soon as its own
  operation is stored, so its stored→COMPLETED latency is short. The peer has every operation in
  memory at once and its latency is mostly the wait for a push slot; compare the rates, not the
  latencies, between the two.
- 10,000 agents by default, the issue's size (\`BENCH_ANDROID_DEVICES=1000\` for a quicker look). The peer
  retries a push that fails transiently (timeout, 429/5xx), as the hub's wake worker does, so it may send
  more FCM messages than commands.`;
}

export async function writeAndroidSection(section: string): Promise<string> {
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
