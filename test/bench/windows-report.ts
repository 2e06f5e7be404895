/** The `## Windows MDM` section of docs/BENCHMARKS.md, between its own markers. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Machine } from './machine.js';
import { DOC_PATH } from './report.js';
import { median, type LatencySummary } from './stats.js';

export interface WindowsRound {
  peer: 'hub' | 'bare';
  round: number;
  commands: number;
  /** Raw pushes WNS accepted during the round. */
  pushes: number;
  wallMs: number;
  /** Until the last command was issued (hub) or the last push answered (bare). */
  enqueuedMs: number;
  /** Event-loop busy time of the process over the round (server, WNS fake and devices share it). */
  busyMs: number;
  /** Per command: its issue call → COMPLETED stored (hub) / its push → Status 200 received (bare). */
  latency: LatencySummary;
}

export interface WindowsBenchResults {
  date: Date;
  durationS: number;
  machine: Machine;
  loadAverage: { start: number; end: number };
  devices: number;
  concurrency: number;
  enrollSeconds: number;
  rounds: WindowsRound[];
}

const START = '<!-- bench:windows:start -->';
const END = '<!-- bench:windows:end -->';
const HEADING = '## Windows MDM: the WNS wake-up loop';

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const ms = (n: number) => (!Number.isFinite(n) ? '—' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (n: number) => (!Number.isFinite(n) ? '—' : `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`);

function peerSummary(rounds: WindowsRound[]) {
  return {
    rate: median(rounds.map((r) => r.commands / (r.wallMs / 1000))),
    rates: rounds.map((r) => r.commands / (r.wallMs / 1000)),
    p50: median(rounds.map((r) => r.latency.p50)),
    p99: median(rounds.map((r) => r.latency.p99)),
    enqueued: median(rounds.map((r) => r.enqueuedMs)),
    busyUs: median(rounds.map((r) => (r.busyMs * 1000) / r.commands)),
    pushes: median(rounds.map((r) => r.pushes / r.commands)),
  };
}

export function renderWindowsSection(r: WindowsBenchResults): string {
  const hub = peerSummary(r.rounds.filter((x) => x.peer === 'hub'));
  const bare = peerSummary(r.rounds.filter((x) => x.peer === 'bare'));
  const m = r.machine;
  return `Measured ${r.date.toISOString().slice(0, 16).replace('T', ' ')} UTC in ${r.durationS.toFixed(0)} s by \`npm run bench -- windows\`
(test/bench/windows-bench.ts). Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, store on
${m.tmpFilesystem}; 1-minute load average ${r.loadAverage.start.toFixed(2)} at the start, ${r.loadAverage.end.toFixed(2)} at the end.
One process, one thread: the server under test, the WNS simulator and ${int(r.devices)} simulated Windows devices.${
    r.loadAverage.start > 2 * Number(m.nproc)
      ? `\nThe machine was shared (load average above twice its CPUs, other work running): the absolute figures are
noisy and a single round per peer swings by tens of percent; read the ratio only as "the hub is no slower than the peer".`
      : ''
  }

### DeviceLock to ${int(r.devices)} Windows devices in one burst, through the hub

The loop: \`commands.issue\` (${r.concurrency} calls at a time) stores a DEVICE_LOCK per device as PENDING and
queues its wake-up → the hub's push queue and wake worker → the WNS provider (cached OAuth2 token)
→ WNS simulator raw push → the device opens a SyncML session (Alert 1201, basic credentials, DevInfo,
ChannelURI) → Exec ./Vendor/MSFT/RemoteLock/Lock → Status 200 → the command is COMPLETED in the
store, and the session's closing message gets only Statuses. The peer is the same loop with the hub
replaced by a bare HTTP/1.1 keep-alive server answering canned SyncML and storing nothing, its pushes
sent straight through the same WNS provider (${r.concurrency} at a time): the same devices, SyncML and WNS
simulator. Median of ${r.rounds.length / 2} rounds per peer, alternated.

| | commands/s | p50 issue→COMPLETED (ms) | p99 issue→COMPLETED (ms) | all issued after (ms) | process µs/command | pushes/command |
|---|---:|---:|---:|---:|---:|---:|
| hub | ${int(hub.rate)} | ${ms(hub.p50)} | ${ms(hub.p99)} | ${ms(hub.enqueued)} | ${int(hub.busyUs)} | ${hub.pushes.toFixed(2)} |
| bare HTTP server (peer) | ${int(bare.rate)} | ${ms(bare.p50)} | ${ms(bare.p99)} | ${ms(bare.enqueued)} | ${int(bare.busyUs)} | ${bare.pushes.toFixed(2)} |
| hub / peer | ${ratio(hub.rate / bare.rate)} | ${ratio(hub.p50 / bare.p50)} | ${ratio(hub.p99 / bare.p99)} | | ${ratio(hub.busyUs / bare.busyUs)} | |

Rounds (commands/s): hub ${hub.rates.map(int).join(', ')}; peer ${bare.rates.map(int).join(', ')}.
Setup, not part of the loop: the devices enrolled through the hub (discovery, RequestSecurityToken with one
shared PKCS#10, first session reporting the channel URI; 64 at a time) in ${r.enrollSeconds.toFixed(1)} s.
"Process µs/command" is the event loop's busy time over the round divided by the commands; the
devices and the WNS simulator run in the same thread for both peers, so the difference is what
the hub adds. Fewer pushes than commands for the hub means a device's session was still open when
its command was queued and took it without a push.`;
}

export async function writeWindowsSection(section: string): Promise<string> {
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
