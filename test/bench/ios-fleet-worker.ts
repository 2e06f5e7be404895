/**
 * The phone side of `npm run bench -- ios`, in its own worker thread: the test PKI, the APNs
 * simulator and the simulated iPhones (signing every request, parsing every plist). The server side
 * (the hub, or the bare peer) runs on the main thread, so the two sides do not share one event loop
 * and the server's own cost can be read from its event-loop utilization.
 *
 * Messages: main → worker `FleetRequest`, worker → main `FleetReply` (test/bench/ios-fleet.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { IphoneAgent } from '../../simulators/src/apple/index.js';
import { benchTopic, openAppleWorld, pool, threadCpuMs, type FleetReply, type FleetRequest } from './ios-fleet.js';
import { FleetPhone, Slots, fleetAgent } from './ios-fleet-phone.js';

if (!parentPort) throw new Error('ios-fleet-worker runs as a worker thread');
const port = parentPort;
const { devices } = workerData as { devices: number };
const send = (msg: FleetReply) => port.postMessage(msg);

const world = await openAppleWorld(devices);
send({
  type: 'world',
  deviceCaPem: world.deviceCa.certPem,
  serverCaPem: world.serverCa.certPem,
  pushCertPem: world.push.certPem,
  pushKeyPem: world.push.keyPem,
  bareServerCertPem: world.bareServer.certPem,
  bareServerKeyPem: world.bareServer.keyPem,
  apnsUrl: world.apns.url,
  identitySeconds: world.identitySeconds,
});

const fleets = new Map<string, FleetPhone[]>();
/** Check-in sessions (connections) each fleet has open at once; transport signed: its shared keep-alive pool. */
const connections = Number(process.env.BENCH_IOS_CONNECTIONS ?? 256);
const maxSessionRetries = Math.max(100, devices / 10);
let sessionRetries = 0;

port.on('message', (msg: FleetRequest) => {
  void handle(msg).catch((err: unknown) =>
    send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});

async function handle(msg: FleetRequest): Promise<void> {
  if (msg.type === 'fleet') {
    const agents = world.identities.map(
      (identity, i) =>
        new IphoneAgent({
          serverUrl: msg.serverUrl,
          topic: benchTopic,
          identity,
          apns: world.apns,
          udid: `${msg.prefix}-${String(i).padStart(6, '0')}`,
          ...(msg.tls ? { tls: msg.tls, signMessage: false } : {}),
        }),
    );
    const t0 = performance.now();
    let enrolled = 0;
    // Enrollment (setup, not measured) runs through the full simulator; an enrolled phone's
    // sessions are then run by the lean FleetPhone (test/bench/ios-fleet-phone.ts).
    if (msg.enroll)
      await pool(agents, 128, async (a) => {
        // An enrollment that fails on the wire (a connection refused or reset on a loaded machine) is tried again.
        for (let attempt = 1; ; attempt++) {
          try {
            await a.enroll();
            break;
          } catch (err) {
            if (attempt === 5) throw err;
            await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
          }
        }
        // The enrollment's own connection is closed: the measured phone opens its own.
        a.disconnect();
        if (++enrolled % 500 === 0) send({ type: 'progress', done: enrolled });
      });
    const agent = msg.tls ? undefined : fleetAgent(connections);
    const slots = new Slots(connections);
    const phones = agents.map(
      (a) =>
        new FleetPhone({
          serverUrl: msg.serverUrl,
          udid: a.udid,
          pushMagic: a.pushMagic,
          identity: a.opts.identity,
          slots,
          keepConnection: process.env.BENCH_IOS_KEEP_CONNECTIONS === '1',
          ...(agent ? { agent } : {}),
          ...(msg.tls ? { tls: msg.tls } : {}),
        }),
    );
    // A check-in that fails on the wire (a kept-alive connection the server closed as it was
    // reused, under load) is tried again, as a phone does; only repeated failures end the run.
    phones.forEach((phone, i) => {
      const onError = (err: unknown): void => {
        if (++sessionRetries > maxSessionRetries)
          return send({ type: 'failed', error: `${String(err)} (after ${maxSessionRetries} retried sessions)` });
        setTimeout(() => phone.onPush(agents[i]!.pushMagic, onError), 20);
      };
      world.apns.register(agents[i]!.tokenHex, (magic) => phone.onPush(magic, onError));
    });
    // Preparing 10,000 signers takes minutes on a loaded machine: progress keeps the bench's watchdog alive.
    for (const [i, p] of phones.entries()) {
      await p.prepare();
      if ((i + 1) % 500 === 0) send({ type: 'progress', done: i + 1 });
    }
    // Two requests per phone before the measured rounds (for the bare peer in place of Authenticate
    // + TokenUpdate), so both peers' connections (and, transport tls, each phone's own TLS
    // connection) and signers are warm.
    await pool(phones, 128, async (p) => {
      for (let i = 0; i < 2; i++) await p.warmUp(msg.enroll);
      if (process.env.BENCH_IOS_KEEP_CONNECTIONS !== '1') p.close();
    });
    fleets.set(msg.name, phones);
    send({
      type: 'fleet-ready',
      name: msg.name,
      enrollSeconds: (performance.now() - t0) / 1000,
      phones: agents.map((a) => ({ udid: a.udid, tokenHex: a.tokenHex, pushMagic: a.pushMagic })),
    });
    return;
  }
  if (msg.type === 'utilization') {
    send({ type: 'utilization', elu: performance.eventLoopUtilization(), cpuMs: threadCpuMs(), sessionRetries });
    return;
  }
  for (const phones of fleets.values()) for (const p of phones) p.close();
  await world.apns.stop();
  send({ type: 'stopped' });
  port.close();
}
