/** The `## Apple MDM` section of docs/BENCHMARKS.md, between its own markers. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Machine } from './machine.js';
import { DOC_PATH } from './report.js';
import { median, type LatencySummary } from './stats.js';

export interface IosRound {
  peer: 'hub' | 'bare';
  round: number;
  commands: number;
  wallMs: number;
  /** Until the last command was issued (hub) or the last push answered (bare). */
  enqueuedMs: number;
  /** Per command: its issue call → COMPLETED stored (hub) / its push → Acknowledged received (bare). */
  latency: LatencySummary;
  /** Event-loop busy time of the server thread (hub or bare server) and of the phone thread. */
  serverBusyMs: number;
  phoneBusyMs: number;
  /** CPU time of the server thread and of the phone thread over the round (ios-fleet.ts, threadCpuMs). */
  serverCpuMs: number;
  phoneCpuMs: number;
  /** Phone check-in sessions that failed on the wire and were tried again. */
  sessionRetries: number;
}

export interface IosBenchResults {
  date: Date;
  durationS: number;
  machine: Machine;
  loadAverage: { start: number; end: number };
  devices: number;
  issueConcurrency: number;
  /** BENCH_IOS_TRANSPORT and BENCH_IOS_KEEP_CONNECTIONS (ios-bench.ts). */
  transport: 'tls' | 'signed';
  keepConnections: boolean;
  /** Check-in sessions (connections) open at once per fleet (BENCH_IOS_CONNECTIONS). */
  connections: number;
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
    serverUs: median(rounds.map((r) => (r.serverBusyMs * 1000) / r.commands)),
    phoneUs: median(rounds.map((r) => (r.phoneBusyMs * 1000) / r.commands)),
    serverCpuUs: median(rounds.map((r) => (r.serverCpuMs * 1000) / r.commands)),
    phoneCpuUs: median(rounds.map((r) => (r.phoneCpuMs * 1000) / r.commands)),
  };
}

export function renderIosSection(r: IosBenchResults): string {
  const hub = peerSummary(r.rounds.filter((x) => x.peer === 'hub'));
  const bare = peerSummary(r.rounds.filter((x) => x.peer === 'bare'));
  const m = r.machine;
  return `Measured ${r.date.toISOString().slice(0, 16).replace('T', ' ')} UTC in ${r.durationS.toFixed(0)} s by \`npm run bench -- ios\`
(test/bench/ios-bench.ts). Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, store on
${m.tmpFilesystem}; 1-minute load average ${r.loadAverage.start.toFixed(2)} at the start, ${r.loadAverage.end.toFixed(2)} at the end.
One process, two threads: the server under test on the main thread; the APNs simulator and
${int(r.devices)} simulated iPhones in a worker thread.

### DeviceLock to ${int(r.devices)} iPhones in one burst, through the hub

The loop: \`commands.issue\` (${r.issueConcurrency} calls at a time) stores a DeviceLock per phone as PENDING
and queues its wake-up → the hub's push queue and wake worker → the APNs provider over HTTP/2 with
mutual TLS → APNs simulator → the phone checks in with \`Idle\` → receives the DeviceLock plist →
answers \`Acknowledged\` → the command is COMPLETED in the store. ${
    r.transport === 'tls'
      ? `Transport \`tls\` (profile SignMessage false): each phone talks to the hub's mutual-TLS MDM listener
(HUB_IOS_MDM_TLS_PORT) over its own HTTPS connection with its identity certificate as TLS client
certificate, signing nothing; the hub identifies it by that certificate on every request. ${
          r.keepConnections
            ? 'Each phone keeps its connection between sessions (BENCH_IOS_KEEP_CONNECTIONS=1).'
            : "A phone's connection lives for one check-in session (it connects when woken, resuming its previous TLS session by ticket, and closes after the empty answer)."
        }`
      : 'Transport `signed` (profile SignMessage true): every request carries an `Mdm-Signature` the hub verifies, over plain HTTP/1.1, the fleet sharing a pool of kept-alive connections.'
  } At most ${int(r.connections)} check-in sessions are open at once per fleet.
The peer is the same loop with the hub replaced by a bare ${r.transport === 'tls' ? 'HTTPS server asking for client certificates' : 'HTTP/1.1 keep-alive server'} that answers
a canned plist and stores nothing, its pushes sent straight through the same APNs client: the same
phones, transport and APNs simulator. Median of ${r.rounds.length / 2} rounds per peer, alternated.

| | commands/s | p50 issue→COMPLETED (ms) | p99 issue→COMPLETED (ms) | all issued after (ms) | server CPU µs/command | phone CPU µs/command | server busy µs/command | phone busy µs/command |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
| hub | ${int(hub.rate)} | ${ms(hub.p50)} | ${ms(hub.p99)} | ${ms(hub.enqueued)} | ${int(hub.serverCpuUs)} | ${int(hub.phoneCpuUs)} | ${int(hub.serverUs)} | ${int(hub.phoneUs)} |
| bare HTTP server (peer) | ${int(bare.rate)} | ${ms(bare.p50)} | ${ms(bare.p99)} | ${ms(bare.enqueued)} | ${int(bare.serverCpuUs)} | ${int(bare.phoneCpuUs)} | ${int(bare.serverUs)} | ${int(bare.phoneUs)} |
| hub / peer | ${ratio(hub.rate / bare.rate)} | ${ratio(hub.p50 / bare.p50)} | ${ratio(hub.p99 / bare.p99)} | | ${ratio(hub.serverCpuUs / bare.serverCpuUs)} | ${ratio(hub.phoneCpuUs / bare.phoneCpuUs)} | ${ratio(hub.serverUs / bare.serverUs)} | |

Rounds (commands/s): hub ${hub.rates.map(int).join(', ')}; peer ${bare.rates.map(int).join(', ')}. Phone check-in sessions that
failed on the wire and were tried again (as a phone does): hub ${r.rounds
    .filter((x) => x.peer === 'hub')
    .map((x) => int(x.sessionRetries))
    .join(', ')}; peer ${r.rounds
    .filter((x) => x.peer === 'bare')
    .map((x) => int(x.sessionRetries))
    .join(', ')}.
Setup, not part of the loop: ${int(r.devices)} identity certificates issued in ${r.identitySeconds.toFixed(1)} s; the
phones enrolled through the hub (Authenticate + TokenUpdate, 128 at a time) in ${r.enrollSeconds.toFixed(1)} s.
"CPU µs/command" is the thread's CPU time (user + system, from /proc/thread-self/stat) over the
round divided by the commands: the server thread (for the hub: REST, store, push queue, APNs
client; for the peer: its HTTP server and APNs client) and the phones' thread (APNs simulator,
TLS, signing (transport signed), sending, reading answers, for both peers). "Busy" is event-loop busy time, which on a
loaded machine also counts the time a runnable thread waited for a CPU.`;
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
