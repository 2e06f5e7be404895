/**
 * `npm run bench -- windows`: the WNS wake-up loop (docs/DEVICE-MANAGEMENT.md, "Windows") for N
 * simulated Windows devices — a DeviceLock for every device in one burst → stored PENDING → the
 * hub's push queue and wake worker → WNS raw push (token from the WNS fake's OAuth2 endpoint) →
 * the device opens a SyncML session (Alert 1201, credentials, DevInfo, ChannelURI) → Exec
 * RemoteLock → Status 200 → COMPLETED. The peer, measured in the same run, is the same loop with
 * the hub replaced by a bare HTTP server that answers every session with a canned Exec and stores
 * nothing, its pushes sent straight through the same WNS provider: same devices, same SyncML on
 * the wire, same WNS fake. Rounds alternate between the peers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { WindowsDevice, WnsSimulator, createCsr } from '@edgehub/simulators/windows';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import { ChannelOrigins } from '../../hub/src/push/wns/channel-uri.js';
import { WnsPushProvider } from '../../hub/src/push/wns/wns-provider.js';
import { WnsTokenSource } from '../../hub/src/push/wns/wns-token.js';
import { startHub, type RunningHub } from '../src/index.js';
import { pool } from './ios-fleet.js';
import { describeMachine } from './machine.js';
import { startGroupHub } from './group-env.js';
import { summarize } from './stats.js';
import { renderWindowsSection, writeWindowsSection, type WindowsRound } from './windows-report.js';

const DEVICES = Number(process.env.BENCH_WINDOWS_DEVICES ?? 10_000);
const ROUNDS = Number(process.env.BENCH_WINDOWS_ROUNDS ?? 2);
/** Issue calls in flight, and the peer's pushes in flight (the hub's wake worker takes 200 at a time). */
const CONCURRENCY = 200;
const log = (msg: string) => console.error(`[bench:windows] ${msg}`);
const wnsClient = { clientId: 'ms-app://s-1-15-2-bench', clientSecret: 'bench-wns-secret' };
const enrollmentSecret = 'bench-enrollment-secret';

interface Peer {
  run(round: number): Promise<WindowsRound>;
  close(): Promise<void>;
}

function busy(): () => number {
  const start = performance.eventLoopUtilization();
  return () => performance.eventLoopUtilization(start).active;
}

async function hubLoop(wns: WnsSimulator, csr: string, alive: () => void): Promise<Peer & { enrollSeconds: number }> {
  return startGroupHub(
    {
      HUB_WNS_TOKEN_URL: wns.tokenUrl,
      HUB_WNS_CLIENT_ID: wnsClient.clientId,
      HUB_WNS_CLIENT_SECRET: wnsClient.clientSecret,
      HUB_WNS_CHANNEL_ORIGINS: wns.origin,
      HUB_WINDOWS_ENROLLMENT_SECRET: enrollmentSecret,
    },
    'HUB_WINDOWS_ORG_ID',
    () => startHub(),
    (h) => enrolledLoop(wns, csr, alive, h),
  );
}

/** Enrolls the devices into the hub `h` (each reports its WNS channel), then gives its measured round. */
async function enrolledLoop(
  wns: WnsSimulator,
  csr: string,
  alive: () => void,
  h: RunningHub,
): Promise<Omit<Peer, 'close'> & { enrollSeconds: number }> {
  const devices = Array.from(
    { length: DEVICES },
    (_, i) => new WindowsDevice({ baseUrl: h.baseUrl, upn: `user${i}@bench.example`, enrollmentSecret, wns, csr }),
  );
  const t0 = performance.now();
  let enrolled = 0;
  await pool(devices, 64, async (d) => {
    await d.enroll();
    await d.poll();
    // Progress keeps the bench's watchdog quiet on a loaded machine; a hang still trips it.
    if (++enrolled % 500 === 0) alive();
  });
  const enrollSeconds = (performance.now() - t0) / 1000;
  alive();
  log(`hub: ${devices.length} devices enrolled (and their channel reported) in ${enrollSeconds.toFixed(1)} s`);
  const targets = await Promise.all(
    devices.map(async (d) => {
      const rec = await h.hub.devices.byIdentifier('windows', d.deviceId);
      if (!rec?.push) throw new Error(`device ${d.deviceId} has no channel URI`);
      return { deviceId: rec.id, deviceKey: d.deviceId };
    }),
  );

  async function run(round: number): Promise<WindowsRound> {
    const started = new Map<string, number>();
    const latencies: number[] = [];
    const finished = new Promise<void>((resolve, reject) => {
      const on = (c: CommandRecord) => {
        const t = started.get(c.assetId);
        if (t === undefined || c.deviceType !== 'windows') return;
        if (c.operationStatus === 'ERROR' || c.operationStatus === 'TIMEOUT') {
          h.hub.commands.off('status', on);
          reject(new Error(`command ${c.commandId} ended ${c.operationStatus}`));
          return;
        }
        if (c.operationStatus !== 'COMPLETED') return;
        started.delete(c.assetId);
        latencies.push(performance.now() - t);
        if (latencies.length % 1000 === 0) alive();
        if (latencies.length === targets.length) {
          h.hub.commands.off('status', on);
          resolve();
        }
      };
      h.hub.commands.on('status', on);
    });
    const pushes = wns.pushes;
    const cpu = busy();
    const t0 = performance.now();
    await pool(targets, CONCURRENCY, async (t) => {
      started.set(t.deviceId, performance.now());
      await h.hub.commands.issue({
        target: { orgId: h.adminCreds.orgId, assetId: t.deviceId, productKey: 'windows', deviceKey: t.deviceKey },
        deviceType: 'windows',
        kind: 'operation',
        name: 'DEVICE_LOCK',
        params: {},
        pendingTtlSeconds: 86_400,
        timeoutMs: 86_400_000,
        by: 'bench',
      });
    });
    const enqueuedMs = performance.now() - t0;
    await finished;
    const wallMs = performance.now() - t0;
    await Promise.all(devices.map((d) => d.idle()));
    return {
      peer: 'hub',
      round,
      commands: targets.length,
      pushes: wns.pushes - pushes,
      wallMs,
      enqueuedMs,
      busyMs: cpu(),
      latency: summarize(latencies),
    };
  }
  return { run, enrollSeconds };
}

/** The peer: canned SyncML over a bare keep-alive HTTP server; pushes straight through the same WNS provider. */
async function bareLoop(wns: WnsSimulator, alive: () => void): Promise<Peer> {
  let onDone: (deviceId: string) => void = () => undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const source = /<Source><LocURI>([^<]+)<\/LocURI><\/Source><Cred>/.exec(body)?.[1] ?? '';
      const session = /<SessionID>([^<]+)<\/SessionID>/.exec(body)?.[1] ?? '1';
      const msgId = /<MsgID>([^<]+)<\/MsgID>/.exec(body)?.[1] ?? '1';
      const opening = body.includes('<Alert>');
      if (!opening && /<CmdRef>bare-lock<\/CmdRef><Cmd>Exec<\/Cmd><Data>200<\/Data>/.test(body)) onDone(source);
      const exec = opening
        ? '<Exec><CmdID>bare-lock</CmdID><Item><Target><LocURI>./Vendor/MSFT/RemoteLock/Lock</LocURI></Target></Item></Exec>'
        : '';
      res.writeHead(200, { 'content-type': 'application/vnd.syncml.dm+xml' });
      res.end(
        `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>${session}</SessionID><MsgID>${msgId}</MsgID><Target><LocURI>${source}</LocURI></Target><Source><LocURI>bare</LocURI></Source></SyncHdr><SyncBody><Status><CmdID>1</CmdID><MsgRef>${msgId}</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>${exec}<Final/></SyncBody></SyncML>`,
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ManagementServer/MDM.svc`;
  const devices = Array.from({ length: DEVICES }, () => {
    const d = new WindowsDevice({ baseUrl: url, upn: 'bare@bench.example', enrollmentSecret, wns });
    d.provision(url, 'bare-secret');
    return d;
  });
  const provider = new WnsPushProvider(new WnsTokenSource({ tokenUrl: wns.tokenUrl, ...wnsClient }), new ChannelOrigins([wns.origin]));

  async function run(round: number): Promise<WindowsRound> {
    const started = new Map<string, number>();
    const latencies: number[] = [];
    const finished = new Promise<void>((resolve) => {
      onDone = (deviceId) => {
        const t = started.get(deviceId);
        if (t === undefined) return;
        started.delete(deviceId);
        latencies.push(performance.now() - t);
        if (latencies.length % 1000 === 0) alive();
        if (latencies.length === devices.length) resolve();
      };
    });
    const pushes = wns.pushes;
    const cpu = busy();
    const t0 = performance.now();
    await pool(devices, CONCURRENCY, async (d) => {
      started.set(d.deviceId, performance.now());
      for (let attempt = 1; ; attempt++) {
        const outcome = await provider.wake({
          orgId: 'bench',
          deviceType: 'windows',
          deviceId: d.deviceId,
          token: d.channelUri!,
          extra: {},
        });
        if (outcome.kind === 'sent') break;
        if (outcome.kind !== 'retry-after' || attempt === 8) throw new Error(`bare push failed: ${JSON.stringify(outcome)}`);
      }
    });
    const enqueuedMs = performance.now() - t0;
    await finished;
    const wallMs = performance.now() - t0;
    await Promise.all(devices.map((d) => d.idle()));
    return {
      peer: 'bare',
      round,
      commands: devices.length,
      pushes: wns.pushes - pushes,
      wallMs,
      enqueuedMs,
      busyMs: cpu(),
      latency: summarize(latencies),
    };
  }
  return {
    run,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function runWindowsBenchmarks(alive: () => void = () => undefined): Promise<void> {
  const date = new Date();
  const loadStart = loadavg()[0] ?? NaN;
  log(`${DEVICES} devices, ${ROUNDS} rounds per peer`);
  const wns = new WnsSimulator(wnsClient);
  await wns.start();
  const csr = await createCsr('bench-fleet');
  const hub = await hubLoop(wns, csr, alive);
  const bare = await bareLoop(wns, alive);
  const rounds: WindowsRound[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, peer] of [
        ['hub', hub],
        ['bare', bare],
      ] as const) {
        const r = await peer.run(round);
        rounds.push(r);
        alive();
        log(
          `${name} round ${round}: ${(r.commands / (r.wallMs / 1000)).toFixed(0)} commands/s, p50 ${r.latency.p50.toFixed(0)} ms, p99 ${r.latency.p99.toFixed(0)} ms`,
        );
      }
    }
  } finally {
    await hub.close();
    await bare.close();
    await wns.stop();
  }
  const section = renderWindowsSection({
    date,
    durationS: (Date.now() - date.getTime()) / 1000,
    machine: describeMachine(),
    loadAverage: { start: loadStart, end: loadavg()[0] ?? NaN },
    devices: DEVICES,
    concurrency: CONCURRENCY,
    enrollSeconds: hub.enrollSeconds,
    rounds,
  });
  log(`written to ${await writeWindowsSection(section)}`);
}
