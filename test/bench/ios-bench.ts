/**
 * `npm run bench -- ios`: the Apple MDM command loop through the hub (docs/DEVICE-MANAGEMENT.md,
 * "Apple MDM") for N simulated iPhones — a burst of DeviceLock, one per phone, issued through the
 * command core → stored PENDING → outbound push queue → wake worker → APNs provider (HTTP/2, mutual
 * TLS) → APNs simulator → the phone checks in (Idle) → the DeviceLock plist → Acknowledged →
 * COMPLETED in the store. BENCH_IOS_TRANSPORT=tls (default): the phones use the hub's mutual-TLS
 * MDM listener, identified by their client certificates, one connection per check-in session
 * (BENCH_IOS_KEEP_CONNECTIONS=1 keeps it between sessions); =signed: plain HTTP with an
 * Mdm-Signature on every request.
 *
 * The peer, measured in the same run, is the same loop with the hub replaced by a bare server on
 * the same transport (HTTPS asking for client certificates, or HTTP/1.1 keep-alive) answering a
 * canned plist, its pushes sent straight through the same APNs client: the same phones and APNs
 * simulator; nothing stored, verified or queued. The ratio is what the hub's core costs.
 *
 * The server under test runs on the main thread; the APNs simulator and the phones run in a worker
 * thread (test/bench/ios-fleet-worker.ts), so the server's own cost is its event-loop utilization.
 *
 * Profiling: BENCH_IOS_PROFILE=<dir> (or BENCH_PROFILE=<dir>) writes a CPU profile of the server thread during each hub round
 * (<dir>/ios-hub-round-N.cpuprofile, open in Chrome DevTools) and prints where its time went by
 * file and by function. The whole process can also be profiled with
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx test/bench/main.ts ios
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import { ApnsClient } from '../../hub/src/push/apns/apns-client.js';
import { startHub, type RunningHub } from '../src/index.js';
import { describeMachine } from './machine.js';
import { FleetWorker, benchTopic, pool, threadCpuMs, type BenchPhone } from './ios-fleet.js';
import { startProfile, type CpuProfileSummary } from './ios-profile.js';
import { renderIosSection, writeIosSection, type IosRound } from './ios-report.js';
import { startGroupHub } from './group-env.js';
import { summarize } from './stats.js';

const DEVICES = Number(process.env.BENCH_IOS_DEVICES ?? 10_000);
const ROUNDS = Number(process.env.BENCH_IOS_ROUNDS ?? 2);
const PROFILE_DIR = process.env.BENCH_IOS_PROFILE ?? process.env.BENCH_PROFILE;
/**
 * How phones prove their identity (docs/DEVICE-MANAGEMENT.md, "Apple: device identity"): `tls`
 * (default) — profile SignMessage false, each phone on its own kept-alive HTTPS connection to the
 * hub's mutual-TLS listener with its identity as client certificate; `signed` — SignMessage true,
 * plain HTTP/1.1 with an Mdm-Signature on every request. The bare peer uses the same transport.
 */
const TRANSPORT = (process.env.BENCH_IOS_TRANSPORT ?? 'tls') as 'tls' | 'signed';
if (TRANSPORT !== 'tls' && TRANSPORT !== 'signed') throw new Error(`BENCH_IOS_TRANSPORT must be tls or signed, got ${String(TRANSPORT)}`);
/** Commands issued at once by the administrator's side, and pushes in flight in the peer's loop. */
const ISSUE_CONCURRENCY = 256;
const log = (msg: string) => console.error(`[bench:ios] ${msg}`);
/** Tells the bench's watchdog the run is progressing (set by runIosBenchmarks). */
let alive: () => void = () => undefined;
/** Every 1,000 finished commands of a round count as progress. */
const progress = (n: number) => {
  if (n % 1000 === 0) alive();
};

interface Peer {
  run(round: number): Promise<IosRound>;
  close(): Promise<void>;
}

/** Event-loop time of both sides over one round: the server's (this thread) and the phones' (the worker). */
async function measured(
  fleet: FleetWorker,
  body: () => Promise<Omit<IosRound, 'serverBusyMs' | 'phoneBusyMs' | 'serverCpuMs' | 'phoneCpuMs' | 'sessionRetries'>>,
): Promise<IosRound> {
  const server0 = performance.eventLoopUtilization();
  const serverCpu0 = threadCpuMs();
  const phones0 = await fleet.utilization();
  const r = await body();
  const server = performance.eventLoopUtilization(server0);
  const serverCpuMs = threadCpuMs() - serverCpu0;
  const phones1 = await fleet.utilization();
  return {
    ...r,
    serverBusyMs: server.active,
    phoneBusyMs: phones1.elu.active - phones0.elu.active,
    serverCpuMs,
    phoneCpuMs: phones1.cpuMs - phones0.cpuMs,
    sessionRetries: phones1.sessionRetries - phones0.sessionRetries,
  };
}

async function hubLoop(fleet: FleetWorker, dir: string): Promise<Peer & { enrollSeconds: number; profiles: CpuProfileSummary[] }> {
  const w = fleet.world;
  const files = {
    HUB_IOS_APNS_CA_FILE: join(dir, 'apns-ca.pem'),
    HUB_IOS_IDENTITY_CA_FILE: join(dir, 'identity-ca.pem'),
    HUB_IOS_PUSH_CERT_FILE: join(dir, 'push.pem'),
    HUB_IOS_PUSH_KEY_FILE: join(dir, 'push.key'),
  };
  await writeFile(files.HUB_IOS_APNS_CA_FILE, w.serverCaPem);
  await writeFile(files.HUB_IOS_IDENTITY_CA_FILE, w.deviceCaPem);
  await writeFile(files.HUB_IOS_PUSH_CERT_FILE, w.pushCertPem);
  await writeFile(files.HUB_IOS_PUSH_KEY_FILE, w.pushKeyPem, { mode: 0o600 });
  return startGroupHub(
    { ...files, HUB_IOS_APNS_URL: w.apnsUrl },
    'HUB_IOS_ORG_ID',
    () => startHub(TRANSPORT === 'tls' ? { iosMdmTlsPort: 0 } : {}),
    (h) => enrolledLoop(fleet, h),
  );
}

/** Enrolls the fleet's phones into the hub `h`, then gives its measured round. */
async function enrolledLoop(
  fleet: FleetWorker,
  h: RunningHub,
): Promise<Omit<Peer, 'close'> & { enrollSeconds: number; profiles: CpuProfileSummary[] }> {
  const ready =
    TRANSPORT === 'tls'
      ? await fleet.fleet('hub', `${h.iosMdmTlsUrl!}/mdm`, 'HUB', true, { caPem: await readFile(h.tlsCaPath, 'utf8') })
      : await fleet.fleet('hub', `${h.baseUrl}/mdm`, 'HUB', true);
  log(`hub: ${ready.phones.length} phones enrolled in ${ready.enrollSeconds.toFixed(1)} s`);
  const targets = await Promise.all(
    ready.phones.map(async (p) => {
      const d = await h.hub.devices.byIdentifier('ios', p.udid);
      if (!d?.push) throw new Error(`phone ${p.udid} is not enrolled with a push token`);
      return { udid: p.udid, deviceId: d.id };
    }),
  );
  const profiles: CpuProfileSummary[] = [];

  const run = (round: number) =>
    measured(fleet, async () => {
      const started = new Map<string, number>();
      const latencies: number[] = [];
      const finished = new Promise<void>((resolve, reject) => {
        const on = (c: CommandRecord) => {
          const t = started.get(c.assetId);
          if (t === undefined || c.deviceType !== 'ios') return;
          if (c.operationStatus === 'ERROR' || c.operationStatus === 'TIMEOUT') {
            h.hub.commands.off('status', on);
            reject(new Error(`command ${c.commandId} ended ${c.operationStatus}: ${JSON.stringify(c.result)}`));
            return;
          }
          if (c.operationStatus !== 'COMPLETED') return;
          started.delete(c.assetId);
          latencies.push(performance.now() - t);
          progress(latencies.length);
          if (latencies.length === targets.length) {
            h.hub.commands.off('status', on);
            resolve();
          }
        };
        h.hub.commands.on('status', on);
      });
      const profile = PROFILE_DIR ? await startProfile() : undefined;
      const t0 = performance.now();
      await pool(targets, ISSUE_CONCURRENCY, async (t) => {
        started.set(t.deviceId, performance.now());
        await h.hub.commands.issue({
          target: { orgId: h.adminCreds.orgId, assetId: t.deviceId, productKey: 'ios', deviceKey: t.udid },
          deviceType: 'ios',
          kind: 'operation',
          name: 'DEVICE_LOCK',
          params: { Message: `Bench lock ${round}` },
          pendingTtlSeconds: 86_400,
          timeoutMs: 86_400_000,
          by: 'bench',
        });
      });
      const enqueuedMs = performance.now() - t0;
      await finished;
      const wallMs = performance.now() - t0;
      if (profile) profiles.push(await profile.stop(join(PROFILE_DIR!, `ios-hub-round-${round}.cpuprofile`), targets.length));
      fleet.check();
      return { peer: 'hub', round, commands: targets.length, wallMs, enqueuedMs, latency: summarize(latencies) };
    });
  return { run, enrollSeconds: ready.enrollSeconds, profiles };
}

const cannedPlist = (udid: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0"><dict><key>CommandUUID</key><string>bare-${udid}</string><key>Command</key><dict><key>RequestType</key><string>DeviceLock</string><key>Message</key><string>Bench lock</string></dict></dict></plist>`;

/** The peer: a bare HTTP/1.1 keep-alive server with a canned DeviceLock plist, pushes sent straight through the same APNs client. */
async function bareLoop(fleet: FleetWorker): Promise<Peer> {
  let onDone: (udid: string) => void = () => undefined;
  const w = fleet.world;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = /<key>Status<\/key>\s*<string>(\w+)<\/string>/.exec(body)?.[1];
      const udid = /<key>UDID<\/key>\s*<string>([^<]+)<\/string>/.exec(body)?.[1] ?? '';
      if (status === 'Idle') {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(cannedPlist(udid));
        return;
      }
      if (status === 'Acknowledged') onDone(udid);
      res.writeHead(200);
      res.end();
    });
  };
  // Transport tls: HTTPS asking for the phones' client certificates (the TLS layer checks each
  // phone's proof of its key, as for the hub), nothing read from them.
  const server: Server =
    TRANSPORT === 'tls'
      ? createHttpsServer({ cert: w.bareServerCertPem, key: w.bareServerKeyPem, requestCert: true, rejectUnauthorized: false }, handler)
      : createServer(handler);
  server.keepAliveTimeout = 72_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `${TRANSPORT === 'tls' ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}/mdm`;
  const phones: BenchPhone[] = (await fleet.fleet('bare', url, 'BARE', false, TRANSPORT === 'tls' ? { caPem: w.serverCaPem } : undefined))
    .phones;
  const client = new ApnsClient({ url: w.apnsUrl, certPem: w.pushCertPem, keyPem: w.pushKeyPem, caPem: w.serverCaPem });

  const run = (round: number) =>
    measured(fleet, async () => {
      const started = new Map<string, number>();
      const latencies: number[] = [];
      const finished = new Promise<void>((resolve) => {
        onDone = (udid) => {
          const t = started.get(udid);
          if (t === undefined) return;
          started.delete(udid);
          latencies.push(performance.now() - t);
          progress(latencies.length);
          if (latencies.length === phones.length) resolve();
        };
      });
      const t0 = performance.now();
      await pool(phones, ISSUE_CONCURRENCY, async (p) => {
        started.set(p.udid, performance.now());
        // Transient failures (a stream reset under load) are retried, as the hub's wake worker does.
        for (let attempt = 1; ; attempt++) {
          const outcome = await client.push({ tokenHex: p.tokenHex, pushMagic: p.pushMagic, topic: benchTopic });
          if (outcome.kind === 'sent') break;
          if (outcome.kind !== 'retry' || attempt === 8) throw new Error(`bare push failed: ${JSON.stringify(outcome)}`);
        }
      });
      const enqueuedMs = performance.now() - t0;
      await finished;
      const wallMs = performance.now() - t0;
      fleet.check();
      return { peer: 'bare', round, commands: phones.length, wallMs, enqueuedMs, latency: summarize(latencies) };
    });
  return {
    run,
    close: async () => {
      await client.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `alive` is called after each long step (identities, enrollment, every round): the bench's watchdog. */
export async function runIosBenchmarks(keepAlive: () => void = () => undefined): Promise<void> {
  alive = keepAlive;
  const started = new Date();
  const loadStart = loadavg()[0] ?? NaN;
  const dir = await mkdtemp(join(tmpdir(), 'bench-ios-'));
  log(`${DEVICES} phones, transport ${TRANSPORT}, ${ROUNDS} rounds per peer${PROFILE_DIR ? `, profiles to ${PROFILE_DIR}` : ''}`);
  const fleet = await FleetWorker.start(DEVICES);
  fleet.onProgress = alive;
  log(`identities issued in ${fleet.world.identitySeconds.toFixed(1)} s`);
  alive();
  const rounds: IosRound[] = [];
  let hub: Awaited<ReturnType<typeof hubLoop>> | undefined;
  let bare: Peer | undefined;
  try {
    hub = await hubLoop(fleet, dir);
    alive();
    bare = await bareLoop(fleet);
    for (let r = 1; r <= ROUNDS; r++) {
      for (const peer of r % 2 === 1 ? [bare, hub] : [hub, bare]) {
        const res = await peer.run(r);
        log(
          `${res.peer} round ${r}: ${(res.commands / (res.wallMs / 1000)).toFixed(0)} commands/s, p99 ${res.latency.p99.toFixed(0)} ms, ` +
            `CPU µs/command: server ${((res.serverCpuMs * 1000) / res.commands).toFixed(0)}, phones ${((res.phoneCpuMs * 1000) / res.commands).toFixed(0)}; ` +
            `busy µs/command: server ${((res.serverBusyMs * 1000) / res.commands).toFixed(0)}, phones ${((res.phoneBusyMs * 1000) / res.commands).toFixed(0)}; ` +
            `all issued after ${res.enqueuedMs.toFixed(0)} ms, ${res.sessionRetries} sessions retried`,
        );
        rounds.push(res);
        alive();
      }
    }
  } finally {
    await hub?.close();
    await bare?.close();
    await fleet.stop();
    await rm(dir, { recursive: true, force: true });
  }
  for (const p of hub.profiles) log(`profile ${p.path}:\n${p.text}`);
  const section = renderIosSection({
    date: started,
    durationS: (Date.now() - started.getTime()) / 1000,
    machine: describeMachine(),
    loadAverage: { start: loadStart, end: loadavg()[0] ?? NaN },
    devices: DEVICES,
    issueConcurrency: ISSUE_CONCURRENCY,
    transport: TRANSPORT,
    keepConnections: process.env.BENCH_IOS_KEEP_CONNECTIONS === '1',
    connections: Number(process.env.BENCH_IOS_CONNECTIONS ?? 256),
    identitySeconds: fleet.world.identitySeconds,
    enrollSeconds: hub.enrollSeconds,
    rounds,
  });
  log(`written to ${await writeIosSection(section)}`);
}
