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
import { benchTopic, openAppleWorld, pool, type FleetReply, type FleetRequest } from './ios-fleet.js';

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
  apnsUrl: world.apns.url,
  identitySeconds: world.identitySeconds,
});

const fleets = new Map<string, IphoneAgent[]>();
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
        }),
    );
    // A check-in that fails on the wire (a kept-alive connection the server closed as it was
    // reused, under load) is tried again, as a phone does; only repeated failures end the run.
    for (const a of agents)
      a.on('error', (err) => {
        if (++sessionRetries > maxSessionRetries)
          return send({ type: 'failed', error: `${String(err)} (after ${maxSessionRetries} retried sessions)` });
        setTimeout(() => void a.poll().catch((again: unknown) => a.emit('error', again)), 20);
      });
    fleets.set(msg.name, agents);
    const t0 = performance.now();
    let enrolled = 0;
    if (msg.enroll)
      await pool(agents, 128, async (a) => {
        await a.enroll();
        if (++enrolled % 500 === 0) send({ type: 'progress', done: enrolled });
      });
    else {
      // The same first requests the enrolled fleet made (Authenticate + TokenUpdate): each phone's
      // signer builds its CMS templates before the measured rounds, for both peers alike.
      for (const a of agents) a.attachPush();
      await pool(agents, 128, async (a) => {
        for (const status of ['Warmup', 'Warmup'])
          await (await a.put(msg.serverUrl, `<plist><dict><key>Status</key><string>${status}</string></dict></plist>`)).arrayBuffer();
      });
    }
    send({
      type: 'fleet-ready',
      name: msg.name,
      enrollSeconds: (performance.now() - t0) / 1000,
      phones: agents.map((a) => ({ udid: a.udid, tokenHex: a.tokenHex, pushMagic: a.pushMagic })),
    });
    return;
  }
  if (msg.type === 'utilization') {
    send({ type: 'utilization', elu: performance.eventLoopUtilization(), sessionRetries });
    return;
  }
  await world.apns.stop();
  send({ type: 'stopped' });
  port.close();
}
