/** The `## MQTT broker` section of docs/BENCHMARKS.md: tables, setup and reading, between its own markers. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Machine } from './machine.js';
import type { MqttConfig } from './mqtt-bench.js';
import type { FanInResult, StormResult } from './mqtt-loadgen.js';
import { QUIET_MS, QUIET_SHARE } from './mqtt-proc.js';
import type { PeerName, StormPeerName } from './mqtt-peers.js';
import { DOC_PATH } from './report.js';
import { startFlags } from '../src/index.js';
import { median } from './stats.js';

export interface FanInRun {
  peer: PeerName;
  qos: 0 | 1;
  round: number;
  result: FanInResult;
}

export interface StormRun {
  peer: StormPeerName;
  version: string;
  result: StormResult;
  /** The same devices connecting and leaving once more, to the same broker process (hub and bare aedes only). */
  reconnect?: StormResult;
}

/** The storms of one run by peer; the floor only when it ran. */
type StormsByPeer = Record<PeerName, StormRun> & { floor?: StormRun };

export interface MqttBenchResults {
  date: Date;
  durationS: number;
  machine: Machine;
  /** 1-minute load average when the group started and when it ended. */
  loadAverage: { start: number; end: number };
  /** Brokers on CPU 0 and the generator on CPU 1 (false: taskset missing, nothing pinned). */
  pinned: boolean;
  /** The git commit the hub ran from (the hub changes from commit to commit). */
  revision: string;
  versions: Record<PeerName, string>;
  config: MqttConfig;
  bodyBytes: number;
  fanIn: FanInRun[];
  storms: StormRun[];
}

const START = '<!-- bench:mqtt:start -->';
const END = '<!-- bench:mqtt:end -->';
const HEADING = '## MQTT broker';

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (n: number) => `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`;
const pct = (n: number) => `${(n * 100).toFixed(0)}%`;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const load = (n: number) => n.toFixed(2);

const PEERS: PeerName[] = ['hub', 'aedes', 'mosquitto'];

const othersCell = (o: { brokerCpu: number; generatorCpu: number } | undefined) =>
  o ? `${pct(o.brokerCpu)} / ${pct(o.generatorCpu)}` : 'not pinned';

/** Medians over the rounds of one broker at one QoS. */
interface FanInSummary {
  runs: FanInResult[];
  delivered: number;
  acked: number;
  brokerCpu: number;
  generatorCpu: number;
  /** Delivered messages per second of broker CPU: the rate one fully busy core would give. */
  perCore: number;
  /** Other processes' CPU on the broker's and the generator's core (medians), when pinned. */
  others?: { brokerCpu: number; generatorCpu: number };
  p50?: number;
  p99?: number;
}

function summarizeFanIn(runs: FanInRun[], peer: PeerName, qos: 0 | 1): FanInSummary {
  const rs = runs.filter((r) => r.peer === peer && r.qos === qos).map((r) => r.result);
  const m = (f: (r: FanInResult) => number) => median(rs.map(f));
  const lat = rs.flatMap((r) => (r.ackLatency ? [r.ackLatency] : []));
  const others = rs.flatMap((r) => (r.others ? [r.others] : []));
  return {
    runs: rs,
    delivered: m((r) => r.delivered / r.seconds),
    acked: m((r) => r.acked / r.seconds),
    brokerCpu: m((r) => r.brokerCpu),
    generatorCpu: m((r) => r.generatorCpu),
    perCore: m((r) => r.delivered / r.seconds / r.brokerCpu),
    ...(others.length > 0
      ? { others: { brokerCpu: median(others.map((o) => o.brokerCpu)), generatorCpu: median(others.map((o) => o.generatorCpu)) } }
      : {}),
    ...(lat.length > 0 ? { p50: median(lat.map((l) => l.p50)), p99: median(lat.map((l) => l.p99)) } : {}),
  };
}

export function renderMqttSection(r: MqttBenchResults): string {
  const { config: c, machine: m } = r;
  const fan = { 0: {} as Record<PeerName, FanInSummary>, 1: {} as Record<PeerName, FanInSummary> };
  for (const qos of [0, 1] as const) for (const p of PEERS) fan[qos][p] = summarizeFanIn(r.fanIn, p, qos);
  const storm = Object.fromEntries(r.storms.map((s) => [s.peer, s])) as StormsByPeer;
  const label: Record<PeerName, string> = {
    hub: 'hub (signed devices; each post validated, ingested, answered)',
    aedes: `bare ${r.versions.aedes}, 1 subscriber on \`#\``,
    mosquitto: `${r.versions.mosquitto}, 1 subscriber on \`#\``,
  };

  const fanRows = (qos: 0 | 1) => {
    const s = fan[qos];
    const rows = PEERS.map((p) => {
      const x = s[p];
      const lat = x.p50 !== undefined && x.p99 !== undefined ? `${ms(x.p50)} / ${ms(x.p99)}` : '—';
      return `| QoS ${qos} | ${label[p]} | **${int(x.delivered)}** | ${x.runs.map((y) => int(y.delivered / y.seconds)).join(', ')} | ${qos === 1 ? int(x.acked) : '—'} | ${pct(x.brokerCpu)} | ${int(x.perCore)} | ${pct(x.generatorCpu)} | ${othersCell(x.others)} | ${lat} |`;
    });
    const vs = (peer: PeerName) =>
      `| QoS ${qos} | **hub ÷ ${peer}** | **${ratio(s.hub.delivered / s[peer].delivered)}** | ${s.hub.runs
        .map((h, i) => {
          const o = s[peer].runs[i];
          return o ? ratio(h.delivered / h.seconds / (o.delivered / o.seconds)) : '—';
        })
        .join(', ')} | ${qos === 1 ? ratio(s.hub.acked / s[peer].acked) : '—'} | | **${ratio(s.hub.perCore / s[peer].perCore)}** | | | |`;
    return [...rows, vs('aedes'), vs('mosquitto')];
  };

  const stormRow = (p: PeerName) => {
    const x = storm[p].result;
    const seconds = (x.connectWindowUs.toUs - x.connectWindowUs.fromUs) / 1e6;
    const perConn = (after: number, before: number) => kib((after - before) / x.accepted);
    const per = (cpuSeconds: number) => int((cpuSeconds / x.accepted) * 1e6);
    return `| ${p === 'hub' ? 'hub (signed CONNECT checked against the registry)' : storm[p].version} | **${int(x.connectsPerSec)}** | ${ms(x.latency.p50)} / ${ms(x.latency.p99)} / ${ms(x.latency.max)} | ${int(x.listenOverflows)} | ${per(x.brokerCpuSeconds)} | ${per(x.disconnectCpuSeconds)} | **${per(x.brokerCpuSeconds + x.disconnectCpuSeconds)}** | ${pct(x.brokerCpuSeconds / seconds)} | ${pct(x.generatorCpuSeconds / seconds)} | ${othersCell(x.others)} | ${mib(x.rssBefore)} → ${mib(x.rssAfter)} | **${perConn(x.rssAfter, x.rssBefore)}** (${perConn(x.anonAfter, x.anonBefore)}) |`;
  };
  const stormVs = (peer: PeerName) => {
    const h = storm.hub.result;
    const o = storm[peer].result;
    const cpu = (x: StormResult) => x.brokerCpuSeconds / x.accepted;
    const off = (x: StormResult) => x.disconnectCpuSeconds / x.accepted;
    const mem = (x: StormResult) => (x.rssAfter - x.rssBefore) / x.accepted;
    const anon = (x: StormResult) => (x.anonAfter - x.anonBefore) / x.accepted;
    const memRatio = mem(o) > 0 ? ratio(mem(h) / mem(o)) : '—';
    const anonRatio = anon(o) > 0 ? ratio(anon(h) / anon(o)) : '—';
    return `| **hub ÷ ${peer}** | **${ratio(h.connectsPerSec / o.connectsPerSec)}** | ${ratio(h.latency.p50 / o.latency.p50)} / ${ratio(h.latency.p99 / o.latency.p99)} / | | ${ratio(cpu(h) / cpu(o))} | ${ratio(off(h) / off(o))} | **${ratio((cpu(h) + off(h)) / (cpu(o) + off(o)))}** | | | | | ${memRatio} (${anonRatio}) |`;
  };

  const pinning = r.pinned
    ? 'each broker is its own process pinned to CPU 0 (`taskset -c 0`; the hub, started by `spawnHub`, with `taskset -a -p -c 0` right after it printed its URLs, all threads), the load generator a separate process pinned to CPU 1 (`taskset -c 1`)'
    : '**not pinned** (`taskset` was not found): brokers and generator share the CPUs as the scheduler sees fit';

  return [
    `_Written by \`npm run bench\` (test/bench/mqtt-bench.ts); everything between the \`bench:mqtt\` markers is replaced on the next run._`,
    '',
    `- **Command:** \`npm run bench\` (this group alone: \`npm run bench -- mqtt\`; it took ${r.durationS.toFixed(0)} s)`,
    `- **Date:** ${r.date.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- **Machine:** ${m.nproc} CPUs (\`nproc\`), ${m.cpuModel}, ${m.memoryGiB} GiB RAM, ${m.kernel}; 1-minute load average **${load(r.loadAverage.start)} at the start, ${load(r.loadAverage.end)} at the end** of this group (the benchmark itself keeps up to two CPUs busy)`,
    `- **Software:** Node ${m.node}; the hub binary at commit ${r.revision} (\`spawnHub\`: \`${['node', ...startFlags(), 'hub/dist/bin/hub.js'].join(' ')}\`, compiled and with the Node options \`npm start\` gives it, role \`all\`, no Redis, embedded LMDB registry and telemetry stores, \`LOG_LEVEL=info\`, nothing logged per message or per connection) on ${r.versions.hub.replace('edgehub on ', '')}; bare ${r.versions.aedes} (test/bench/mqtt-aedes-server.ts: \`Aedes.createBroker()\` + \`net.createServer({ noDelay: true })\`, no hooks, in-memory); Debian ${r.versions.mosquitto} (generated config: \`listener <port> 127.0.0.1\`, \`allow_anonymous true\`, \`set_tcp_nodelay true\`, \`persistence false\`, \`log_dest none\`, \`max_inflight_messages 0\`, \`max_queued_messages 100000\`)`,
    `- **Placement:** ${pinning}. Broker CPU is utime + stime of the broker's process (all threads) from \`/proc/<pid>/stat\` over the measured window; 100% = one core. Memory is \`VmRSS\` from \`/proc/<pid>/status\`.`,
    `- **Load generator:** test/bench/mqtt-loadgen.ts, one process for every peer and run: raw TCP sockets with TCP_NODELAY (all three brokers set it too), MQTT 3.1.1 frames pre-encoded and copied with the packet id and sequence number patched in, incoming frames split by their fixed header (no client library: with mqtt.js the generator's core saturates first, docs/PERFORMANCE-NOTES.md §3 A). The same CONNECT, topic and payload bytes go to every broker; the bare brokers accept them anonymously without checking the signature.`,
    '',
    `### Fan-in: ${c.publishers} devices posting measurepoints`,
    '',
    `${c.publishers} devices provisioned in the hub through REST (one product, thing model \`temp: DOUBLE\`) connect with a signed CONNECT (securemode 2, sha256) and publish \`thing.measurepoint.post\` (${r.bodyBytes} bytes of JSON: \`{"id":"…","version":"1.0","method":"thing.measurepoint.post","params":{"measurepoints":{"temp":21.5}}}\`) to their own \`/sys/{pk}/{dk}/thing/measurepoint/post\`. ` +
      `Closed loop with ${c.window} publishes in flight per device (${int(c.publishers * c.window)} in all): **QoS 1** sends the next publish on each PUBACK; **QoS 0** sends it when the previous one has been delivered. ${c.warmupMs / 1000} s warm-up, then a ${c.measureMs / 1000} s window. ${c.rounds} rounds, each running every broker at QoS 0 then QoS 1, the broker order reversed in the second round; medians of the rounds, each run listed. ` +
      `The hub's connect throttle is off for this part (the same ${c.publishers} devices reconnect for every run; the throttle acts at CONNECT only).`,
    '',
    `**What counts as delivered differs, by design.** The hub forwards nothing a device publishes: for each post it authorizes the topic, parses and checks the JSON against the thing model, ingests the value and answers on \`…/post_reply\` to the same device, at the request's QoS; "delivered" is a reply with \`"code":200\` received by the publisher. ` +
      `The bare brokers route each post to one subscriber on \`#\` (subscribed at the run's QoS, acknowledging at QoS 1); "delivered" is a copy received by that subscriber. ` +
      `Each message is thus one PUBLISH in and one PUBLISH out for every broker (at QoS 1 plus a PUBACK each way), but the hub's PUBLISH out goes back over the publisher's own connection, and its payload is the ~40-byte reply rather than the ${r.bodyBytes}-byte request.`,
    '',
    '| QoS | Broker | delivered msg/s (median) | each run | PUBACK/s | broker CPU | delivered per broker core-second | generator CPU | other processes on CPU 0 / CPU 1 | PUBACK round trip p50 / p99, ms |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|---:|',
    ...fanRows(0),
    ...fanRows(1),
    '',
    `"Delivered per broker core-second" divides the rate by the broker's CPU: the rate if the broker had its core to itself and used all of it, assuming linear scaling (as in docs/PERFORMANCE-NOTES.md §3). The ratios in that column compare the brokers' efficiency even where the generator, or a neighbour on the broker's core, set the pace (a broker busier with bigger batches is somewhat more efficient, so this is approximate). "Other processes" is the CPU time of everything else that ran on the broker's core (CPU 0) and the generator's (CPU 1) during the window, hypervisor steal included (\`/proc/stat\` user + nice + system + steal, minus the broker's or the generator's own time). The scheduler gives a neighbour whatever a pinned process leaves idle, so a high figure beside a broker well below 100% does not by itself mean the broker was starved; but where generator + others on CPU 1 come near 100%, the generator was short of CPU and set the pace.`,
    '',
    `### Connect storm: ${int(c.stormDevices)} devices`,
    '',
    `${int(c.stormDevices)} devices are provisioned in a fresh hub (REST batchCreate, ${int(c.provisionChunk)} per call, before anything is measured; the connect throttle at its EnOS default, every device connecting once). The generator then opens ${int(c.stormDevices)} TCP connections with ${c.stormConcurrency} CONNECTs awaiting their CONNACK at any time and keeps every connection open; then every device sends DISCONNECT and closes. ` +
      `connects/s = connections accepted ÷ (first CONNECT sent → last CONNACK received). Broker CPU per CONNECT counts from the first CONNECT until the broker has gone quiet after the last CONNACK (under ${QUIET_SHARE * 100}% of a core for ${QUIET_MS} ms), so work it defers past the CONNACK (the hub's \`online\` writes) is counted; per DISCONNECT likewise from the first DISCONNECT until the broker has closed every connection and gone quiet (the hub's \`offline\` writes). The row of issue 12 is their sum, CONNECT + DISCONNECT. The same CONNECT frames (the hub's devices, signed) go to a freshly started bare aedes and Mosquitto, which do not check them. ` +
      `RSS (\`VmRSS\`, and in brackets its anonymous part \`RssAnon\`: heap, stacks and buffers, without pages of mapped files such as the hub's LMDB store) is read just before the first CONNECT and ${c.settleMs / 1000} s after the last CONNACK, all connections still open, with no forced GC. ` +
      `Each broker is a fresh process: the hub is restarted over the store the devices were provisioned into, so it starts idle like the others. ` +
      `Listen-queue overflows are machine-wide (\`ListenOverflows\` in /proc/net/netstat): Mosquitto 2.0 listens with a backlog of 100 (\`ss -ltn\`), Node servers with 511; a SYN that finds the accept queue full is dropped and retried by the client after 1 s.`,
    '',
    '| Broker | connects/s | CONNECT → CONNACK p50 / p99 / max, ms | listen-queue overflows | broker CPU per CONNECT, µs | per DISCONNECT, µs | per CONNECT + DISCONNECT, µs | broker CPU during storm | generator CPU | other processes on CPU 0 / CPU 1 | RSS before → after, MiB | RSS per connection, KiB (anonymous part) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...PEERS.map(stormRow),
    stormVs('aedes'),
    stormVs('mosquitto'),
    '',
    ...reconnectRows(storm),
    '### Reading these numbers',
    '',
    ...interpretation(r, fan, storm),
  ].join('\n');
}

/**
 * The second storm of the same devices against the same broker process, and the hub's registry
 * commits in each phase (each commit carries a sync: writes per commit set much of its CPU).
 */
function reconnectRows(storm: StormsByPeer): string[] {
  const { hub: h, aedes: a, floor: f } = storm;
  if (!h.reconnect || !a.reconnect) return [];
  const per = (x: StormResult, cpu: number) => int((cpu / x.accepted) * 1e6);
  const cycle = (x: StormResult) => (x.brokerCpuSeconds + x.disconnectCpuSeconds) / x.accepted;
  const writes = (x: StormResult) =>
    x.commits
      ? `${(x.accepted / Math.max(1, x.commits.connect)).toFixed(1)} / ${(x.accepted / Math.max(1, x.commits.disconnect)).toFixed(1)}`
      : '—';
  // Status writes per commit for the peers that write status to a store (the hub, the floor).
  const row = (label: string, x: StormResult) =>
    `| ${label} | **${int(x.connectsPerSec)}** | ${per(x, x.brokerCpuSeconds)} | ${per(x, x.disconnectCpuSeconds)} | **${per(x, x.brokerCpuSeconds + x.disconnectCpuSeconds)}** | ${writes(x)} |`;
  const vs = (label: string, x: StormRun, y: StormRun) =>
    `| **${label}**, first storm / reconnect | | | | **${ratio(cycle(x.result) / cycle(y.result))} / ${ratio(cycle(x.reconnect!) / cycle(y.reconnect!))}** | |`;
  return [
    `**Reconnect: the same ${int(h.result.accepted)} devices again, to the same broker process.** Right after the storm above has disconnected, every device connects and leaves once more (what a fleet does after a network outage; a hub restart is the first storm, against a fresh process): the hub now has the devices' records in memory and each device is activated already. The last column is the status store: status writes per commit (each commit carries a sync), CONNECT / DISCONNECT phase. The floor is bare aedes plus only what the hub may not drop per connection (test/bench/mqtt-floor-server.ts): the CONNECT signature checked with the hub's own code, the device's record read from an LMDB store by its keys, its \`online\` and \`offline\` written back and committed with a sync (the writes of 20 ms sharing a commit, as the hub's do), TCP keepalive and TCP_NODELAY on each socket; no throttle, frame guard, connect deadline, session registry, index or announcement.`,
    '',
    '| Storm | connects/s | broker CPU per CONNECT, µs | per DISCONNECT, µs | per CONNECT + DISCONNECT, µs | status writes per commit |',
    '|---|---:|---:|---:|---:|---:|',
    row('hub, first storm (above)', h.result),
    row('hub, reconnect', h.reconnect),
    row(`${a.version}, first storm (above)`, a.result),
    row(`${a.version}, reconnect`, a.reconnect),
    vs('hub ÷ aedes', h, a),
    // The floor (test/bench/mqtt-floor-server.ts): bare aedes plus the signature check, one LMDB read
    // and the two durable status writes, group-committed like the hub's.
    ...(f?.reconnect
      ? [
          row('floor: aedes + signature + device read + durable status writes, first storm', f.result),
          row('floor, reconnect', f.reconnect),
          vs('floor ÷ aedes', f, a),
          vs('hub ÷ floor', h, f),
        ]
      : []),
    '',
  ];
}

/** What most limited a fan-in configuration, from the medians of its runs. */
function limit(x: FanInSummary): string {
  if (x.brokerCpu >= 0.9) return 'the broker, its core busy';
  if (x.generatorCpu >= 0.9) return 'the generator, its core busy';
  if (x.others && x.generatorCpu + x.others.generatorCpu >= 0.85) return 'CPU 1, the generator sharing it with other processes';
  if (x.others && x.brokerCpu + x.others.brokerCpu >= 0.9) return 'CPU 0, shared with other processes';
  return 'neither core full (latency-bound loop)';
}

function interpretation(r: MqttBenchResults, fan: Record<0 | 1, Record<PeerName, FanInSummary>>, storm: StormsByPeer): string[] {
  const c = r.config;
  const f0 = fan[0];
  const f1 = fan[1];
  const h = storm.hub.result;
  const a = storm.aedes.result;
  const q = storm.mosquitto.result;
  const cpuPer = (x: StormResult) => ((x.brokerCpuSeconds + x.disconnectCpuSeconds) / x.accepted) * 1e6;
  const memPer = (x: StormResult) => kib((x.rssAfter - x.rssBefore) / x.accepted);
  const anonPer = (x: StormResult) => kib((x.anonAfter - x.anonBefore) / x.accepted);
  const limits = (qos: 0 | 1) => PEERS.map((p) => `${p}: ${limit(fan[qos][p])}`).join('; ');
  const overflowed = PEERS.filter((p) => storm[p].result.listenOverflows > 0);
  const floor = storm.floor?.result;
  const floorNote = floor
    ? `The floor of the reconnect table (bare aedes plus the signature, one LMDB read and the two durable status writes, nothing else) costs ${int(cpuPer(floor))} µs, **${ratio(cpuPer(floor) / cpuPer(a))} bare aedes** by itself: issue 12's ≤ 1.3× is about what those steps alone cost, and the hub costs ${ratio(cpuPer(h) / cpuPer(floor))} the floor. `
    : '';
  return [
    `- **Fan-in, QoS 0 — the cleaner comparison.** The hub answers ${int(f0.hub.delivered)} posts/s at ${pct(f0.hub.brokerCpu)} of its core; bare aedes delivers ${int(f0.aedes.delivered)} msg/s at ${pct(f0.aedes.brokerCpu)} and Mosquitto ${int(f0.mosquitto.delivered)} at ${pct(f0.mosquitto.brokerCpu)}. ` +
      `Per broker core-second the hub handles **${ratio(f0.hub.perCore / f0.aedes.perCore)}** the messages of the aedes it is built on and ${ratio(f0.hub.perCore / f0.mosquitto.perCore)} those of Mosquitto. ` +
      `The MQTT plumbing (parsing, the per-client packet loop, socket writes) is aedes' in both; what the hub adds per message is its policy and handler, on the same core: the \`authorizePublish\` hook and topic parse, metrics counters, \`JSON.parse\` of the body, the method check, a read of the product (its thing model) from LMDB, the model check, appending the value to the telemetry store (an LMDB transaction; posts of the same tick share a commit, and the reply waits until it is on disk), publishing it to the application stream (an aedes publish no one subscribed to here), \`JSON.stringify\` of the reply and a publish through aedes to send it. ` +
      `This benchmark does not apportion that cost (no profile was taken); the gap to bare aedes bounds what optimizing that path could win for this shape of load. What limited each broker (medians): ${limits(0)}.`,
    `- **Fan-in, QoS 1 — read with care.** Per core-second the hub does ${ratio(f1.hub.perCore / f1.aedes.perCore)} the work of bare aedes here, against ${ratio(f0.hub.perCore / f0.aedes.perCore)} at QoS 0: going from QoS 0 to QoS 1 bare aedes falls from ${int(f0.aedes.perCore)} to ${int(f1.aedes.perCore)} messages per core-second, the hub only from ${int(f0.hub.perCore)} to ${int(f1.hub.perCore)}. ` +
      `Both pay for one QoS 1 delivery per message (packet id, a \`setImmediate\`, the receiver's PUBACK to process: the bare brokers' to the one subscriber that receives everything, the hub's reply to its publisher); bare aedes additionally runs its QoS 1 publish path (\`enqueueOffline\`, a persistence lookup per publish) and the topic match, which the hub, forwarding nothing, skips. Why bare aedes loses this much more was not profiled, so the QoS 1 ratio says less about the hub's own per-message cost than the QoS 0 one. ` +
      `Bare aedes and Mosquitto send the PUBACK once a publish is routed, the hub only after its reply is written, so its PUBACK and reply rates match. In a saturated closed loop the PUBACK round trip is mostly queueing (${int(c.publishers * c.window)} in flight ÷ rate), not service time. What limited each broker: ${limits(1)}.`,
    `- **Mosquitto** (C, one thread) is the one-core ceiling: per core-second ${ratio(f0.mosquitto.perCore / f0.aedes.perCore)} bare aedes at QoS 0 and ${ratio(f1.mosquitto.perCore / f1.aedes.perCore)} at QoS 1 (docs/PERFORMANCE-NOTES.md §3 B: ~3.3× with 10 publishers and a raw generator). ` +
      `The generator needs ${pct(f0.mosquitto.generatorCpu)} (QoS 0) and ${pct(f1.mosquitto.generatorCpu)} (QoS 1) of CPU 1 to keep Mosquitto fed, against ${pct(f0.hub.generatorCpu)} and ${pct(f1.hub.generatorCpu)} for the hub: when CPU 1 is short, Mosquitto's msg/s is the generator's limit, not the broker's, and its per-core figure is the one to read.`,
    `- **Connect storm.** Broker CPU per CONNECT + DISCONNECT is the robust figure: hub **${int(cpuPer(h))} µs**, bare aedes ${int(cpuPer(a))} µs, Mosquitto ${int(cpuPer(q))} µs, i.e. the hub spends ${ratio(cpuPer(h) / cpuPer(a))} aedes' CPU per connection (docs/PERFORMANCE-NOTES.md §3 K, CONNECT alone: aedes ~210 µs, Mosquitto 26–30 µs). Where the hub's part goes, from a profile: docs/BENCHMARKS.md, "CONNECT and device GET: where the time goes". ` +
      floorNote +
      `On top of aedes' CONNECT handling the hub parses the EnOS ClientId, reads the device and its product from LMDB, computes a SHA-256 over the signed fields, runs the connect throttle, and once the CONNACK is written registers the session, marks the device online in the store (a read and a write; the first login also sets activeTime) and announces it on the application stream. ` +
      `Its ${int(h.connectsPerSec)} connects/s (bare aedes ${int(a.connectsPerSec)}, Mosquitto ${int(q.connectsPerSec)}) also depend on how much of CPU 0 and CPU 1 each run got${overflowed.length > 0 ? `, and ${overflowed.join(', ')} overflowed the accept queue (${overflowed.map((p) => `${storm[p].result.listenOverflows}×`).join(', ')}): those clients waited for the 1 s SYN retry, which sets the max latency and stretches the storm` : ''}. ` +
      `Memory held per open connection: hub ${memPer(h)} KiB RSS (${anonPer(h)} anonymous), bare aedes ${memPer(a)} (${anonPer(a)}), Mosquitto ${memPer(q)} (${anonPer(q)}); docs/PERFORMANCE-NOTES.md §3 K, after forced GC: aedes ~11.6 KiB, Mosquitto ~0.7 KiB. Without a forced GC, garbage not yet collected counts and the V8 heap grows in steps, so read these to ±1–2 KiB. RSS minus its anonymous part is file-backed pages (for the hub, among others, the LMDB pages of the devices it read).`,
    `- **Not measured here:** TLS and WebSocket listeners (docs/PERFORMANCE-NOTES.md §4: a TLS handshake costs far more than the CONNECT check), GZIP payloads, batch posts, sub-devices behind gateways, downstream commands, persistent sessions and per-device subscriptions, the MongoDB store, several hub processes, and latency at a moderate offered load (both fan-in modes saturate). Loopback only, no network.`,
    `- **The machine.** A ${r.machine.nproc}-CPU virtual machine shared with other work: the 1-minute load average was ${load(r.loadAverage.start)} when this group started and ${load(r.loadAverage.end)} when it ended, the benchmark itself accounting for up to 2. Whatever else runs takes turns on the benchmark's two cores (see the "other processes" columns), so absolute rates move by tens of percent from run to run; each run is listed, brokers alternate, and the per-core ratios are what to compare between commits. None of this is a capacity figure for production.`,
  ];
}

/** Replaces the mqtt section of docs/BENCHMARKS.md between its markers, creating the section if missing. */
export async function writeMqttSection(section: string): Promise<string> {
  const block = `${START}\n${section}\n${END}`;
  if (!existsSync(DOC_PATH)) throw new Error(`${DOC_PATH} is missing; run the REST group first to create it`);
  let doc = await readFile(DOC_PATH, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start >= 0 && end > start) {
    doc = doc.slice(0, start) + block + doc.slice(end + END.length);
  } else {
    doc = `${doc.trimEnd()}\n\n${HEADING}\n\n${block}\n`;
  }
  await writeFile(DOC_PATH, doc);
  return DOC_PATH;
}
