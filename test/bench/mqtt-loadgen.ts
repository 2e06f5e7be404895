/**
 * The MQTT load generator: one child process (pinned to CPU 1 by the orchestrator) that runs one
 * job against one broker and prints its result as one JSON line. The same code, the same frames
 * and the same pacing drive the hub, bare aedes and Mosquitto, so their figures compare.
 *
 *   node --import tsx test/bench/mqtt-loadgen.ts <job.json>
 *
 * Bounded: a fixed window, a fixed number of connections, and a deadline after which the process
 * exits on its own. It also exits when its stdin closes, i.e. when the orchestrator is gone.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connectBytes,
  FrameReader,
  publishBatch,
  publishTemplate,
  pubackBytes,
  subscribeBytes,
  type ConnectSpec,
  type FrameHandlers,
} from './mqtt-frames.js';
import { QUIET_MS, QUIET_SHARE, cpuBusySeconds, cpuSeconds, listenDrops, residentBytes } from './mqtt-proc.js';
import { summarize, type LatencySummary } from './stats.js';

interface JobBase {
  port: number;
  /** The broker process, whose CPU time (and for a storm, resident memory) is sampled. */
  brokerPid: number;
  clkTck: number;
  /** The process exits with an error after this long, whatever happens. */
  deadlineMs: number;
  /** The CPUs the broker and this generator are pinned to; undefined when nothing is pinned. */
  cpus?: { broker: number; generator: number };
}

export interface FanInJob extends JobBase {
  kind: 'fanin';
  qos: 0 | 1;
  publishers: (ConnectSpec & { topic: string })[];
  body: string;
  /**
   * Bare brokers: one subscriber on this filter, at the job's QoS, counts the deliveries.
   * Hub: undefined; the replies the hub sends back to each publisher are counted instead.
   */
  subscribe?: string;
  /** A delivery counts only if its payload contains this (the hub's `"code":200`, the bare brokers' request body). */
  expect: string;
  /**
   * Publishes in flight per publisher. QoS 1: a new one goes out per PUBACK. QoS 0: per delivery
   * of one of its messages (its reply from the hub, its copy at the bare brokers' subscriber).
   */
  window: number;
  warmupMs: number;
  measureMs: number;
}

export interface StormJob extends JobBase {
  kind: 'storm';
  devices: ConnectSpec[];
  /** CONNECTs awaiting their CONNACK at any time. */
  concurrency: number;
  /** Pause with every connection open before reading the broker's memory. */
  settleMs: number;
  /**
   * The hub's registry store (its LMDB environment): its last transaction id is read around each
   * phase, so the result says how many commits (each with its sync) the broker made per phase.
   */
  storePath?: string;
}

export type LoadJob = FanInJob | StormJob;

export interface FanInResult {
  kind: 'fanin';
  qos: 0 | 1;
  publishers: number;
  /** The measured window, in seconds (after the warm-up). */
  seconds: number;
  /** PUBLISH frames written by the publishers in the window. */
  sent: number;
  /** PUBACKs received by the publishers in the window (QoS 1). */
  acked: number;
  /** Hub: replies with code 200 received by the publishers; bare brokers: PUBLISHes received by the subscriber. */
  delivered: number;
  /** Deliveries whose payload did not contain the expected text (must be 0). */
  wrong: number;
  /** QoS 1: time from writing a PUBLISH to reading its PUBACK, ms, in the window. */
  ackLatency?: LatencySummary;
  /** Broker CPU over the window, in cores (1 = one core fully busy). */
  brokerCpu: number;
  generatorCpu: number;
  /** CPU time of everything else on the broker's and the generator's CPU over the window (pinned runs only). */
  others?: Others;
}

/** Cores' worth of CPU time taken by other processes (and the hypervisor) on the pinned CPUs. */
export interface Others {
  brokerCpu: number;
  generatorCpu: number;
}

export interface StormResult {
  kind: 'storm';
  devices: number;
  concurrency: number;
  accepted: number;
  /** CONNACKs with a non-zero return code, and connections closed or failed before their CONNACK. */
  refused: number;
  failed: number;
  /** First CONNECT sent → last CONNACK received. */
  elapsedMs: number;
  connectsPerSec: number;
  /** TCP connect + CONNECT → CONNACK, per connection, ms. */
  latency: LatencySummary;
  brokerCpuSeconds: number;
  generatorCpuSeconds: number;
  /** VmRSS of the broker, bytes. */
  rssBefore: number;
  rssAfter: number;
  /** Its anonymous part (RssAnon), without pages of mapped files such as the hub's LMDB store. */
  anonBefore: number;
  anonAfter: number;
  /** The connect phase on the monotonic clock (µs), first CONNECT → broker quiet again (for profiles). */
  connectWindowUs: { fromUs: number; toUs: number };
  /**
   * The disconnect half: DISCONNECT + close on every connection, until the broker has closed them
   * all and gone quiet (its deferred `offline` writes included). CPU seconds, and the window (µs).
   */
  disconnectCpuSeconds: number;
  disconnectMs: number;
  disconnectWindowUs: { fromUs: number; toUs: number };
  /**
   * Commits of the hub's registry store in each phase (job.storePath): the status writes share them,
   * and each costs a sync, so writes per commit set much of the hub's CPU per connection.
   */
  commits?: { connect: number; disconnect: number };
  /** Machine-wide listen-queue overflows during the storm (a full accept queue: the SYN is retried after 1 s). */
  listenOverflows: number;
  others?: Others;
}

const now = () => performance.now();

/** What else ran on the pinned CPUs between two /proc/stat samples, given our own processes' CPU seconds. */
function othersBetween(
  job: JobBase,
  before: number[],
  after: number[],
  brokerS: number,
  generatorS: number,
  seconds: number,
): Others | undefined {
  if (!job.cpus) return undefined;
  const used = (cpu: number) => (after[cpu] ?? NaN) - (before[cpu] ?? NaN);
  return {
    brokerCpu: Math.max(0, used(job.cpus.broker) - brokerS) / seconds,
    generatorCpu: Math.max(0, used(job.cpus.generator) - generatorS) / seconds,
  };
}

interface Link {
  sock: Socket;
  reader: FrameReader;
}

/** Opens a TCP connection, sends the CONNECT and resolves once the broker accepted it. */
function openLink(port: number, c: ConnectSpec, handlers: FrameHandlers, needle: Buffer, timeoutMs: number): Promise<Link> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: '127.0.0.1', noDelay: true });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`no CONNACK for ${c.clientId} within ${timeoutMs} ms`)), timeoutMs);
    const reader = new FrameReader(
      {
        ...handlers,
        connack(rc) {
          if (settled) return;
          if (rc !== 0) return fail(new Error(`CONNACK ${rc} for ${c.clientId}`));
          settled = true;
          clearTimeout(timer);
          resolve({ sock, reader });
        },
      },
      needle,
    );
    sock.on('data', (d: Buffer) => reader.push(d));
    sock.on('error', (err) => fail(err));
    sock.on('close', () => fail(new Error(`connection of ${c.clientId} closed before its CONNACK`)));
    sock.write(connectBytes(c));
  });
}

const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** Sends DISCONNECT and closes each socket; whatever is still open after a few seconds is destroyed. */
async function disconnectAll(socks: Socket[]): Promise<void> {
  const closed = socks
    .filter((s) => !s.destroyed)
    .map(
      (s) =>
        new Promise<void>((resolve) => {
          s.once('close', () => resolve());
          s.on('error', () => undefined);
          s.end(DISCONNECT);
        }),
    );
  await Promise.race([Promise.all(closed), sleep(5_000)]);
  for (const s of socks) s.destroy();
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, task: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function fanIn(job: FanInJob): Promise<FanInResult> {
  const needle = Buffer.from(job.expect, 'utf8');
  const counts = { sent: 0, acked: 0, delivered: 0, wrong: 0 };
  let stopped = false;
  let measuring = false;
  const latencies: number[] = [];
  const MAX_LATENCIES = 2_000_000;

  interface Publisher {
    sock: Socket;
    write(n: number): void;
    /** Publishes owed to this publisher since the last write (one per PUBACK or per delivery). */
    refill: number;
    /** QoS 1: write time per packet id in flight (ids cycle through 1…ID_SPAN, far above the window). */
    sentAt: Float64Array;
  }
  const ID_SPAN = 4096;
  if (job.window >= ID_SPAN) throw new Error(`window ${job.window} too large`);
  const publishers: Publisher[] = [];
  const owed: Publisher[] = [];
  const owe = (p: Publisher | undefined) => {
    if (p && p.refill++ === 0) owed.push(p);
  };

  // After every read on any socket: acknowledge what needs it, then send what is owed, one write per socket.
  const afterRead = (sock: Socket, acks: number[]) => {
    if (acks.length > 0) sock.write(pubackBytes(acks.splice(0)));
    for (const p of owed) {
      if (!stopped) p.write(p.refill);
      p.refill = 0;
    }
    owed.length = 0;
  };
  // A delivered PUBLISH (a copy at the subscriber, or the hub's reply at the publisher).
  const delivered = (acks: number[]) => (qos: number, id: number, source: number, matches: boolean) => {
    if (matches) counts.delivered++;
    else counts.wrong++;
    if (qos > 0) acks.push(id);
    if (job.qos === 0) owe(publishers[source]);
  };

  let subscriber: Link | undefined;
  if (job.subscribe !== undefined) {
    const acks: number[] = [];
    let granted: (g: number) => void = () => undefined;
    const subscribed = new Promise<number>((resolve) => (granted = resolve));
    subscriber = await openLink(
      job.port,
      { clientId: `bench-subscriber-${process.pid}`, username: 'bench', password: 'bench' },
      { publish: delivered(acks), suback: (g) => granted(g) },
      needle,
      10_000,
    );
    const sock = subscriber.sock;
    sock.on('data', () => afterRead(sock, acks));
    sock.write(subscribeBytes(job.subscribe, job.qos));
    const g = await Promise.race([subscribed, sleep(10_000).then(() => -1)]);
    if (g !== job.qos) throw new Error(`SUBACK granted ${g} for ${job.subscribe}, expected ${job.qos}`);
  }

  await pool(job.publishers, 50, async (spec, index) => {
    const acks: number[] = [];
    const sentAt = new Float64Array(ID_SPAN + 1);
    let self: Publisher | undefined;
    const link = await openLink(
      job.port,
      spec,
      {
        publish: delivered(acks),
        puback(mid) {
          counts.acked++;
          if (measuring && latencies.length < MAX_LATENCIES) latencies.push(now() - sentAt[mid]!);
          if (job.qos === 1) owe(self);
        },
      },
      needle,
      10_000,
    );
    const template = publishTemplate(spec.topic, job.body, job.qos, index);
    let id = 0;
    let seq = 0;
    const nextId = () => {
      id = (id % ID_SPAN) + 1;
      sentAt[id] = now();
      return id;
    };
    const nextSeq = () => (seq = (seq + 1) % 1e8);
    self = {
      sock: link.sock,
      refill: 0,
      sentAt,
      write(n) {
        counts.sent += n;
        link.sock.write(publishBatch(template, n, nextId, nextSeq));
      },
    };
    publishers[index] = self;
    link.sock.on('data', () => afterRead(link.sock, acks));
  });

  // A closed loop: each publisher starts with a full window and sends one more per PUBACK (QoS 1)
  // or per delivered copy or reply (QoS 0), so the broker, not socket buffers, sets the pace.
  for (const p of publishers) p.write(job.window);

  await sleep(job.warmupMs);
  const start = {
    ...counts,
    t: now(),
    broker: cpuSeconds(job.brokerPid, job.clkTck),
    gen: process.cpuUsage(),
    cpus: cpuBusySeconds(job.clkTck),
  };
  measuring = true;
  await sleep(job.measureMs);
  measuring = false;
  const end = {
    ...counts,
    t: now(),
    broker: cpuSeconds(job.brokerPid, job.clkTck),
    gen: process.cpuUsage(start.gen),
    cpus: cpuBusySeconds(job.clkTck),
  };
  stopped = true;
  const seconds = (end.t - start.t) / 1000;
  const brokerS = end.broker - start.broker;
  const generatorS = (end.gen.user + end.gen.system) / 1e6;
  const others = othersBetween(job, start.cpus, end.cpus, brokerS, generatorS, seconds);
  // Let what is in flight arrive before disconnecting: bare aedes 1.2.0 overflowed its stack
  // ("Maximum call stack size exceeded" in Client.nextBatch) when 200 connections with QoS 1
  // traffic still queued were destroyed at once.
  const drained = () => counts.delivered + counts.wrong >= counts.sent && (job.qos === 0 || counts.acked >= counts.sent);
  for (let waited = 0; !drained() && waited < 5_000; waited += 20) await sleep(20);
  await disconnectAll([...publishers.map((p) => p.sock), ...(subscriber ? [subscriber.sock] : [])]);

  return {
    kind: 'fanin',
    qos: job.qos,
    publishers: job.publishers.length,
    seconds,
    sent: end.sent - start.sent,
    acked: end.acked - start.acked,
    delivered: end.delivered - start.delivered,
    wrong: end.wrong - start.wrong,
    ...(latencies.length > 0 ? { ackLatency: summarize(latencies) } : {}),
    brokerCpu: brokerS / seconds,
    generatorCpu: generatorS / seconds,
    ...(others ? { others } : {}),
  };
}

/** The monotonic clock (µs) V8 stamps CPU-profile samples with: comparable with the broker's profile. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Waits until the broker used less than QUIET_SHARE of a core over QUIET_MS (at most 10 s). With
 * `commits` (the hub's store counter), also until no commit landed in that interval: a hub waiting
 * on a long sync is idle without being done.
 */
async function brokerQuiet(job: JobBase, commits?: () => Promise<number>): Promise<void> {
  let prev = cpuSeconds(job.brokerPid, job.clkTck);
  let prevCommits = commits ? await commits() : 0;
  for (let waited = 0; waited < 10_000; waited += QUIET_MS) {
    await sleep(QUIET_MS);
    const cur = cpuSeconds(job.brokerPid, job.clkTck);
    const curCommits = commits ? await commits() : 0;
    if (cur - prev < (QUIET_MS / 1000) * QUIET_SHARE && curCommits === prevCommits) return;
    prev = cur;
    prevCommits = curCommits;
  }
}

/** The last committed transaction of an LMDB environment, read through a short-lived read-only handle. */
async function lastTxnId(path: string): Promise<number> {
  const { open } = await import('lmdb');
  const env = open({ path, readOnly: true });
  try {
    return (env.getStats() as { lastTxnId: number }).lastTxnId;
  } finally {
    await env.close();
  }
}

async function storm(job: StormJob): Promise<StormResult> {
  const commitsAt = () => (job.storePath === undefined ? Promise.resolve(0) : lastTxnId(job.storePath));
  const storeCommits = job.storePath === undefined ? undefined : commitsAt;
  const txn0 = await commitsAt();
  const needle = Buffer.from('-', 'utf8');
  const open: Socket[] = [];
  const latencies: number[] = [];
  let refused = 0;
  let failed = 0;
  const before = residentBytes(job.brokerPid);
  const drops0 = listenDrops();
  const cpus0 = cpuBusySeconds(job.clkTck);
  const cpu0 = cpuSeconds(job.brokerPid, job.clkTck);
  const gen0 = process.cpuUsage();
  const fromUs = monotonicUs();
  const t0 = now();
  let last = t0;
  await pool(job.devices, job.concurrency, async (d) => {
    const t = now();
    try {
      const link = await openLink(job.port, d, {}, needle, 30_000);
      last = now();
      latencies.push(last - t);
      open.push(link.sock);
      link.sock.removeAllListeners('close');
      link.sock.removeAllListeners('error');
      link.sock.on('error', () => undefined);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('CONNACK')) refused++;
      else failed++;
    }
  });
  const elapsedMs = last - t0;
  // Work a broker defers past the CONNACK (the hub's `online` writes) is part of the connect's cost.
  await brokerQuiet(job, storeCommits);
  const connectWindowUs = { fromUs, toUs: monotonicUs() };
  const brokerCpuSeconds = cpuSeconds(job.brokerPid, job.clkTck) - cpu0;
  const txn1 = await commitsAt();
  const gen = process.cpuUsage(gen0);
  const generatorCpuSeconds = (gen.user + gen.system) / 1e6;
  const others = othersBetween(job, cpus0, cpuBusySeconds(job.clkTck), brokerCpuSeconds, generatorCpuSeconds, (now() - t0) / 1000);
  const listenOverflows = listenDrops().overflows - drops0.overflows;
  // Every connection stays open while the broker settles; then its memory is read.
  await sleep(job.settleMs);
  const stillOpen = open.filter((s) => !s.destroyed).length;
  const after = residentBytes(job.brokerPid);
  // The disconnect half: every device says DISCONNECT and closes; the broker's CPU until it is quiet again.
  const disconnectFromUs = monotonicUs();
  const cpuD = cpuSeconds(job.brokerPid, job.clkTck);
  const tD = now();
  await disconnectAll(open);
  const disconnectMs = now() - tD;
  await brokerQuiet(job, storeCommits);
  const disconnectCpuSeconds = cpuSeconds(job.brokerPid, job.clkTck) - cpuD;
  const disconnectWindowUs = { fromUs: disconnectFromUs, toUs: monotonicUs() };
  const txn2 = await commitsAt();
  if (stillOpen !== open.length) throw new Error(`${open.length - stillOpen} of ${open.length} connections closed while held open`);
  return {
    kind: 'storm',
    devices: job.devices.length,
    concurrency: job.concurrency,
    accepted: open.length,
    refused,
    failed,
    elapsedMs,
    connectsPerSec: (open.length / elapsedMs) * 1000,
    latency: summarize(latencies.length > 0 ? latencies : [NaN]),
    brokerCpuSeconds,
    generatorCpuSeconds,
    rssBefore: before.rss,
    rssAfter: after.rss,
    anonBefore: before.anon,
    anonAfter: after.anon,
    connectWindowUs,
    disconnectCpuSeconds,
    disconnectMs,
    disconnectWindowUs,
    ...(job.storePath === undefined ? {} : { commits: { connect: txn1 - txn0, disconnect: txn2 - txn1 } }),
    listenOverflows,
    ...(others ? { others } : {}),
  };
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: mqtt-loadgen.ts <job.json>');
  const job = JSON.parse(readFileSync(path, 'utf8')) as LoadJob;
  setTimeout(() => {
    process.stderr.write(`loadgen: deadline of ${job.deadlineMs} ms reached\n`);
    process.exit(4);
  }, job.deadlineMs).unref();
  const result = job.kind === 'fanin' ? await fanIn(job) : await storm(job);
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

// The orchestrator holds our stdin open; when it goes away, so do we.
process.stdin.on('end', () => process.exit(3));
process.stdin.resume();

main().catch((err: unknown) => {
  process.stderr.write(`loadgen: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
