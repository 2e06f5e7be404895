/**
 * `npm run bench -- ios`: the Apple MDM command loop (docs/DEVICE-MANAGEMENT.md, "Apple MDM") for
 * N simulated iPhones — an administrator's burst of DeviceLock for every device → stored → push
 * worker → APNs simulator (HTTP/2, mutual TLS) → the phone checks in (Idle, Mdm-Signature) → the
 * DeviceLock plist → Acknowledged → COMPLETED. The peer, measured in the same run, is the same loop
 * with the plugin replaced by a bare HTTP server answering a canned plist: same phones, same
 * signatures on the wire, same APNs path, nothing stored or verified. The ratio is what the
 * plugin and its store cost. Rounds alternate between the peers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { pino } from 'pino';
import { IosPlugin } from '../../hub/src/device-types/ios/plugin.js';
import type { MdmOperationRecord } from '../../hub/src/device-types/ios/local-queue.js';
import { ApnsClient } from '../../hub/src/push/apns/apns-client.js';
import { openEmbeddedStore } from '../../hub/src/store/embedded/store.js';
import type { IphoneAgent } from '../../simulators/src/apple/index.js';
import { describeMachine } from './machine.js';
import { fleet, openAppleWorld, pool, type AppleWorld } from './ios-fleet.js';
import { renderIosSection, writeIosSection, type IosRound } from './ios-report.js';
import { summarize } from './stats.js';

// The issue asks for 10,000 phones; on this shared 2-core machine that exceeds the watchdog (identities and
// enrollment alone take minutes), so the default is 500 and BENCH_IOS_DEVICES=10000 runs the full size.
const DEVICES = Number(process.env.BENCH_IOS_DEVICES ?? 500);
const ROUNDS = Number(process.env.BENCH_IOS_ROUNDS ?? 2);
/** Pushes in flight (the plugin's push worker and the peer's loop alike). */
const PUSH_CONCURRENCY = 256;
const log = (msg: string) => console.error(`[bench:ios] ${msg}`);

async function fullLoop(
  world: AppleWorld,
  dir: string,
): Promise<{ run: (round: number) => Promise<IosRound>; enrollSeconds: number; close: () => Promise<void> }> {
  const store = await openEmbeddedStore({ path: join(dir, 'registry') });
  const plugin = await IosPlugin.open(store, pino({ level: 'silent' }), {
    apnsUrl: world.apns.url,
    apnsCaPem: world.serverCa.certPem,
    identityCaPems: [world.deviceCa.certPem],
    push: { concurrency: PUSH_CONCURRENCY },
  });
  await plugin.pushCertificates.upload(world.push.certPem, world.push.keyPem);
  const app = Fastify({ logger: false });
  await plugin.routes(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/mdm`;
  const agents = fleet(world, url);
  const t0 = performance.now();
  await pool(agents, 64, (a) => a.enroll());
  const enrollSeconds = (performance.now() - t0) / 1000;
  log(`full loop: ${agents.length} phones enrolled in ${enrollSeconds.toFixed(1)} s`);

  async function run(round: number): Promise<IosRound> {
    const udids = new Set(agents.map((a) => a.udid));
    const roundStart = Date.now();
    const latencies: number[] = [];
    const t0 = performance.now();
    const finished = new Promise<void>((resolve) => {
      const on = (rec: MdmOperationRecord) => {
        if (rec.status !== 'COMPLETED' || rec.createdAt < roundStart || !udids.has(rec.udid)) return;
        latencies.push(performance.now() - t0);
        if (latencies.length === agents.length) {
          plugin.queue.off('status', on);
          resolve();
        }
      };
      plugin.queue.on('status', on);
    });
    const cpu0 = process.cpuUsage();
    await pool(agents, 512, async (a) => {
      await plugin.enqueue(a.udid, 'DEVICE_LOCK', { Message: 'Bench lock' });
    });
    const enqueuedMs = performance.now() - t0;
    await finished;
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      peer: 'plugin',
      round,
      commands: agents.length,
      wallMs,
      enqueuedMs,
      latency: summarize(latencies),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }
  return {
    run,
    enrollSeconds,
    close: async () => {
      await plugin.close();
      await app.close();
      await store.close();
    },
  };
}

/** The peer: a bare HTTP server with a canned DeviceLock plist, pushes sent straight through the same APNs client. */
async function bareLoop(world: AppleWorld): Promise<{ run: (round: number) => Promise<IosRound>; close: () => Promise<void> }> {
  let onDone: (udid: string) => void = () => undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = /<key>Status<\/key>\s*<string>(\w+)<\/string>/.exec(body)?.[1];
      const udid = /<key>UDID<\/key>\s*<string>([^<]+)<\/string>/.exec(body)?.[1] ?? '';
      if (status === 'Idle') {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0"><dict><key>CommandUUID</key><string>bare-${udid}</string><key>Command</key><dict><key>RequestType</key><string>DeviceLock</string><key>Message</key><string>Bench lock</string></dict></dict></plist>`,
        );
        return;
      }
      if (status === 'Acknowledged') onDone(udid);
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mdm`;
  const agents: IphoneAgent[] = fleet(world, url);
  for (const a of agents) a.attachPush();
  const client = new ApnsClient({
    url: world.apns.url,
    certPem: world.push.certPem,
    keyPem: world.push.keyPem,
    caPem: world.serverCa.certPem,
  });

  async function run(round: number): Promise<IosRound> {
    const latencies: number[] = [];
    const t0 = performance.now();
    const finished = new Promise<void>((resolve) => {
      onDone = () => {
        latencies.push(performance.now() - t0);
        if (latencies.length === agents.length) resolve();
      };
    });
    const cpu0 = process.cpuUsage();
    await pool(agents, PUSH_CONCURRENCY, async (a) => {
      const outcome = await client.push({ tokenHex: a.tokenHex, pushMagic: a.pushMagic, topic: a.opts.topic });
      if (outcome.kind !== 'sent') throw new Error(`bare push failed: ${JSON.stringify(outcome)}`);
    });
    const enqueuedMs = performance.now() - t0;
    await finished;
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      peer: 'bare',
      round,
      commands: agents.length,
      wallMs,
      enqueuedMs,
      latency: summarize(latencies),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }
  return {
    run,
    close: async () => {
      await client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function runIosBenchmarks(): Promise<void> {
  const started = new Date();
  const loadStart = loadavg()[0] ?? NaN;
  const dir = await mkdtemp(join(tmpdir(), 'bench-ios-'));
  log(`${DEVICES} phones, ${ROUNDS} rounds per peer`);
  const world = await openAppleWorld(DEVICES);
  log(`identities issued in ${world.identitySeconds.toFixed(1)} s`);
  const full = await fullLoop(world, dir);
  const bare = await bareLoop(world);
  const rounds: IosRound[] = [];
  try {
    for (let r = 1; r <= ROUNDS; r++) {
      for (const peer of r % 2 === 1 ? [bare, full] : [full, bare]) {
        const res = await peer.run(r);
        log(`${res.peer} round ${r}: ${(res.commands / (res.wallMs / 1000)).toFixed(0)} commands/s, p99 ${res.latency.p99.toFixed(0)} ms`);
        rounds.push(res);
      }
    }
  } finally {
    await full.close();
    await bare.close();
    await world.apns.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const section = renderIosSection({
    date: started,
    durationS: (Date.now() - started.getTime()) / 1000,
    machine: describeMachine(),
    loadAverage: { start: loadStart, end: loadavg()[0] ?? NaN },
    devices: DEVICES,
    pushConcurrency: PUSH_CONCURRENCY,
    identitySeconds: world.identitySeconds,
    enrollSeconds: full.enrollSeconds,
    rounds,
  });
  log(`written to ${await writeIosSection(section)}`);
}
