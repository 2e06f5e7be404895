/**
 * End-to-end latency generator of the `cluster` group: one child process that connects N devices
 * (signed CONNECTs, raw sockets) and one or more applications on the MQTT application stream (or,
 * against a bare broker, subscribed to the devices' own topics: `receives`), then
 * has the devices post `thing.measurepoint.post` at a fixed aggregate rate and times each post
 * from the write of its PUBLISH to its arrival at every application, and to its PUBACK.
 *
 *   node --import tsx test/bench/cluster-latency.ts <job.json>
 *
 * Publisher and applications live in this one process, so both ends read the same clock
 * (`performance.now()`): each post carries a sequence number (`seq`) and the payload's `time`
 * (`Date.now()`, epoch ms); latency is taken from the write time kept per `seq`, and, as a check,
 * from `time` (whole milliseconds, what an application outside this process could compute).
 * Bounded: fixed window, fixed device count, a deadline; exits when its stdin closes.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import mqttPacket from 'mqtt-packet';
import { encode } from '../src/raw-mqtt.js';
import { connectBytes, FrameReader, pubackBytes, type ConnectSpec } from './mqtt-frames.js';
import { snapshotCpu, usageBetween, type CpuSnapshot, type CpuUsage } from './cluster-cpu.js';
import { summarize, type LatencySummary } from './stats.js';

/**
 * Added to every posted sequence number, distinct for each run of this generator (runs start at
 * least a second apart and post far fewer than a million times), so that a late stream event of an
 * earlier run is never taken for one of this run. An integer well inside 2^53 (the model's INT).
 */
const RUN_BASE = Math.floor(Date.now() / 1000) * 1_000_000;

export interface LatencyApp {
  name: string;
  port: number;
  connect: ConnectSpec;
  /**
   * Exact topics, one per device: the hub's stream topics `org/{orgId}/devices/{pk}/{dk}/measurepoints`,
   * or, against a bare broker (`receives: 'post'`), the devices' own publish topics.
   */
  filters: string[];
}

/**
 * What the applications receive for each post: the hub's stream event (`measurepoints.seq.value`,
 * `time`), or the device's own PUBLISH forwarded as it is by a bare broker (`params.measurepoints.seq`,
 * `params.time`): the broker peer of the latency rows (test/bench/cluster-broker.ts). A bare broker
 * sends the devices no `_reply`; nothing here waits for replies (they are only counted), so its
 * runs report 0 replies and 0 bad ones.
 */
export type LatencyDelivery = 'stream' | 'post';

export interface LatencyJob {
  kind: 'latency';
  /** The node the devices connect to. */
  devicePort: number;
  devices: (ConnectSpec & { topic: string })[];
  apps: LatencyApp[];
  /** Posts per second, all devices together, spread evenly (device = seq mod N). */
  rate: number;
  qos: 0 | 1;
  warmupMs: number;
  measureMs: number;
  /** After the window: how long to wait for posts still in flight. */
  drainMs: number;
  deadlineMs: number;
  /** Default 'stream' (a hub). */
  receives?: LatencyDelivery;
  /** Processes whose CPU is sampled over the window (hub nodes, Redis); this generator is added as `generator`. */
  pids: Record<string, number>;
  clkTck: number;
}

export interface AppLatency {
  name: string;
  /** Posts written in the window. */
  expected: number;
  /** Of those, how many this application received (by the end of the drain). */
  received: number;
  duplicates: number;
  /** Write of the device's PUBLISH → arrival at the application, ms (performance.now). */
  latency: LatencySummary;
  /** The same from the payload's `time` (Date.now() at the device, whole ms) to Date.now() at arrival. */
  byTime: LatencySummary;
}

export interface LatencyResult {
  kind: 'latency';
  rate: number;
  devices: number;
  seconds: number;
  /** Posts written in the window, and the rate that makes. */
  sent: number;
  /** Posts written in the whole run, warm-up included. */
  totalSent: number;
  achievedRate: number;
  /** PUBACKs and `"code":200` replies for posts of the window. */
  acked: number;
  replies: number;
  badReplies: number;
  /** Write of the PUBLISH → its PUBACK (QoS 1), ms. */
  ackLatency?: LatencySummary;
  /** How late each write was against its schedule (timer granularity, a busy generator), ms. */
  lateness: LatencySummary;
  apps: AppLatency[];
  /** CPU of each sampled process (and of this generator) over the window. */
  cpu: CpuUsage;
}

const now = () => performance.now();
const DISCONNECT = Buffer.from([0xe0, 0x00]);
const ID_SPAN = 65_535;

/** A PUBLISH frame written by hand: fixed header, topic, packet id at QoS 1, payload. */
function publishFrame(topic: Buffer, payload: string, qos: 0 | 1, id: number): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const len = 2 + topic.length + (qos > 0 ? 2 : 0) + body.length;
  const lenBytes: number[] = [];
  let n = len;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    lenBytes.push(b);
  } while (n > 0);
  const out = Buffer.allocUnsafe(1 + lenBytes.length + len);
  let at = 0;
  out[at++] = 0x30 | (qos << 1);
  for (const b of lenBytes) out[at++] = b;
  out.writeUInt16BE(topic.length, at);
  at += 2;
  topic.copy(out, at);
  at += topic.length;
  if (qos > 0) {
    out.writeUInt16BE(id, at);
    at += 2;
  }
  body.copy(out, at);
  return out;
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`${what}: nothing within ${ms} ms`)))]);
}

interface StreamPayload {
  time?: unknown;
  measurepoints?: { seq?: { value?: unknown } };
}

interface PostPayload {
  params?: { time?: unknown; measurepoints?: { seq?: unknown } };
}

/** The posted sequence number and the payload's `time` of what an application received, as `receives` says it looks. */
function readDelivery(payload: Buffer, receives: LatencyDelivery): { posted: unknown; time: unknown } {
  const parsed: unknown = JSON.parse(payload.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null) return { posted: undefined, time: undefined };
  if (receives === 'post') {
    const params = (parsed as PostPayload).params;
    return { posted: params?.measurepoints?.seq, time: params?.time };
  }
  const ev = parsed as StreamPayload;
  return { posted: ev.measurepoints?.seq?.value, time: ev.time };
}

async function run(job: LatencyJob): Promise<LatencyResult> {
  // Sized for the whole run at the given rate, plus slack for a late timer.
  const capacity = Math.ceil((job.rate * (job.warmupMs + job.measureMs)) / 1000) + 1000;
  const sentAt = new Float64Array(capacity);
  const ackedAt = new Float64Array(capacity).fill(NaN);
  const idToSeq = new Int32Array(ID_SPAN + 1).fill(-1);
  const receives = job.receives ?? 'stream';
  let replies = 0;
  let badReplies = 0;
  let firstInWindow = -1;
  let endOfWindow = -1;
  const inWindow = (seq: number) => firstInWindow >= 0 && seq >= firstInWindow && (endOfWindow < 0 || seq < endOfWindow);

  // Applications first, so that they see every post from the first on.
  const apps = await Promise.all(
    job.apps.map(async (a) => {
      const sock = await openSocket(a.port);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      const arrived = new Float64Array(capacity).fill(NaN);
      const byTime: number[] = [];
      const state = { duplicates: 0, arrived, byTime, sock };
      let connack: (rc: number) => void = () => undefined;
      let suback: (granted: number[]) => void = () => undefined;
      const connacked = new Promise<number>((r) => (connack = r));
      const subacked = new Promise<number[]>((r) => (suback = r));
      parser.on('packet', (p) => {
        if (p.cmd === 'publish') {
          const t = now();
          const wall = Date.now();
          const { posted, time } = readDelivery(Buffer.from(p.payload), receives);
          // Only this run's posts: a node still working off a backlog can stream an earlier run's
          // posts to this run's application, whose bare sequence numbers would match ours.
          if (typeof posted !== 'number') return;
          const seq = posted - RUN_BASE;
          if (seq < 0 || seq >= capacity) return;
          if (!Number.isNaN(arrived[seq]!)) {
            state.duplicates++;
            return;
          }
          arrived[seq] = t;
          if (inWindow(seq) && typeof time === 'number') byTime.push(wall - time);
        } else if (p.cmd === 'connack') connack(p.returnCode ?? -1);
        else if (p.cmd === 'suback') suback(p.granted.map((g) => (typeof g === 'number' ? g : -1)));
      });
      sock.on('data', (d: Buffer) => parser.parse(d));
      sock.on('error', () => undefined);
      sock.write(connectBytes(a.connect));
      const rc = await within(connacked, 10_000, `CONNACK for application ${a.name}`);
      if (rc !== 0) throw new Error(`application ${a.name}: CONNACK ${rc}`);
      sock.write(encode({ cmd: 'subscribe', messageId: 1, subscriptions: a.filters.map((topic) => ({ topic, qos: 0 })) }));
      const granted = await within(subacked, 10_000, `SUBACK for application ${a.name}`);
      if (granted.length !== a.filters.length || granted.some((g) => g !== 0))
        throw new Error(`application ${a.name}: SUBACK granted ${JSON.stringify(granted.slice(0, 5))}…`);
      return { app: a, ...state };
    }),
  );

  // Devices: a signed CONNECT each, then PUBACKs (and the replies at QoS 1, acknowledged).
  const needle = Buffer.from('"code":200', 'utf8');
  const devices = await Promise.all(
    job.devices.map(async (d) => {
      const sock = await openSocket(job.devicePort);
      const acks: number[] = [];
      let connack: (rc: number) => void = () => undefined;
      const connacked = new Promise<number>((r) => (connack = r));
      const reader = new FrameReader(
        {
          connack: (rc) => connack(rc),
          puback(id) {
            const seq = idToSeq[id]!;
            if (seq >= 0) ackedAt[seq] = now();
          },
          publish(qos, id, _source, matches) {
            if (matches) replies++;
            else badReplies++;
            if (qos > 0) acks.push(id);
          },
        },
        needle,
      );
      sock.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        if (acks.length > 0) sock.write(pubackBytes(acks.splice(0)));
      });
      sock.on('error', () => undefined);
      sock.write(connectBytes(d));
      const rc = await within(connacked, 10_000, `CONNACK for ${d.clientId}`);
      if (rc !== 0) throw new Error(`device ${d.clientId}: CONNACK ${rc}`);
      return { sock, topic: Buffer.from(d.topic, 'utf8'), pending: [] as Buffer[] };
    }),
  );

  // The schedule: post k is due at t0 + k / rate; each tick writes what is due, one write per device.
  const n = devices.length;
  const lateness: number[] = [];
  let seq = 0;
  let id = 0;
  const t0 = now();
  const windowStart = t0 + job.warmupMs;
  const windowEnd = windowStart + job.measureMs;
  let cpu0: CpuSnapshot | undefined;
  let cpuWindow: CpuUsage | undefined;
  const pids = { ...job.pids, generator: process.pid };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const t = now();
      if (firstInWindow < 0 && t >= windowStart) {
        firstInWindow = seq;
        cpu0 = snapshotCpu(pids, job.clkTck);
      }
      if (t >= windowEnd) {
        endOfWindow = seq;
        cpuWindow = usageBetween(cpu0!, snapshotCpu(pids, job.clkTck));
        resolve();
        return;
      }
      const due = Math.min(capacity, Math.floor(((t - t0) * job.rate) / 1000));
      const wall = Date.now();
      for (; seq < due; seq++) {
        const dev = devices[seq % n]!;
        id = (id % ID_SPAN) + 1;
        idToSeq[id] = seq;
        const body = `{"id":"${seq}","version":"1.0","method":"thing.measurepoint.post","params":{"measurepoints":{"temp":21.5,"seq":${RUN_BASE + seq}},"time":${wall}}}`;
        dev.pending.push(publishFrame(dev.topic, body, job.qos, id));
      }
      for (const dev of devices) {
        if (dev.pending.length === 0) continue;
        dev.sock.write(dev.pending.length === 1 ? dev.pending[0]! : Buffer.concat(dev.pending));
        dev.pending.length = 0;
      }
      // Every post of this tick was written now: stamp them all with the same write time.
      const written = now();
      for (let k = seq - 1; k >= 0 && sentAt[k] === 0; k--) {
        sentAt[k] = written;
        if (firstInWindow >= 0) lateness.push(written - (t0 + (k * 1000) / job.rate));
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  const seconds = cpuWindow!.seconds;

  // Wait for what is in flight (every application has everything of the window, or the drain is over).
  const complete = () => apps.every((a) => countArrived(a.arrived, firstInWindow, endOfWindow) === endOfWindow - firstInWindow);
  for (let waited = 0; waited < job.drainMs && !complete(); waited += 20) await sleep(20);

  const ackLat: number[] = [];
  for (let k = firstInWindow; k < endOfWindow; k++) if (!Number.isNaN(ackedAt[k]!)) ackLat.push(ackedAt[k]! - sentAt[k]!);
  const result: LatencyResult = {
    kind: 'latency',
    rate: job.rate,
    devices: n,
    seconds,
    sent: endOfWindow - firstInWindow,
    totalSent: seq,
    achievedRate: (endOfWindow - firstInWindow) / seconds,
    acked: ackLat.length,
    replies,
    badReplies,
    ...(ackLat.length > 0 ? { ackLatency: summarize(ackLat) } : {}),
    lateness: summarize(lateness.length > 0 ? lateness : [NaN]),
    apps: apps.map((a) => {
      const lat: number[] = [];
      for (let k = firstInWindow; k < endOfWindow; k++) if (!Number.isNaN(a.arrived[k]!)) lat.push(a.arrived[k]! - sentAt[k]!);
      return {
        name: a.app.name,
        expected: endOfWindow - firstInWindow,
        received: lat.length,
        duplicates: a.duplicates,
        latency: summarize(lat.length > 0 ? lat : [NaN]),
        byTime: summarize(a.byTime.length > 0 ? a.byTime : [NaN]),
      };
    }),
    cpu: cpuWindow!,
  };

  const socks = [...devices.map((d) => d.sock), ...apps.map((a) => a.sock)];
  await Promise.race([
    Promise.all(
      socks.map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : (s.once('close', () => resolve()), s.end(DISCONNECT))))),
    ),
    sleep(5_000),
  ]);
  for (const s of socks) s.destroy();
  return result;
}

function countArrived(arrived: Float64Array, from: number, to: number): number {
  let c = 0;
  for (let k = from; k < to; k++) if (!Number.isNaN(arrived[k]!)) c++;
  return c;
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: cluster-latency.ts <job.json>');
  const job = JSON.parse(readFileSync(path, 'utf8')) as LatencyJob;
  setTimeout(() => {
    process.stderr.write(`cluster-latency: deadline of ${job.deadlineMs} ms reached\n`);
    process.exit(4);
  }, job.deadlineMs).unref();
  const result = await run(job);
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

// The orchestrator holds our stdin open; when it goes away, so do we.
process.stdin.on('end', () => process.exit(3));
process.stdin.resume();

main().catch((err: unknown) => {
  process.stderr.write(`cluster-latency: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
