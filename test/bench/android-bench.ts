/**
 * `npm run bench -- android`: the FCM wake-up loop of the Android device type
 * (docs/DEVICE-MANAGEMENT.md, "Android") for N simulated agents — one `admin/devices/lock-devices`
 * call for every device → the command core stores a DEVICE_LOCK per device and queues its wake-up →
 * push worker → FCM HTTP v1 provider (cached OAuth2 token) → FCM simulator → the agent calls
 * pending-operations, locks, reports COMPLETED in its next call. The peer, measured in the same
 * run, is the same agents, FCM simulator and FCM provider in front of a bare HTTP server that keeps
 * operations in memory (test/bench/android-bare-server.ts): the ratio is what the hub costs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AndroidAgent, FcmSimulator, createServiceAccount, type SimServiceAccount } from '../../simulators/src/android/index.js';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import { FcmPushProvider } from '../../hub/src/push/fcm/fcm-provider.js';
import { parseServiceAccount } from '../../hub/src/push/fcm/service-account.js';
import { newTenant, startHub } from '../src/index.js';
import { BareAndroidServer } from './android-bare-server.js';
import { renderAndroidSection, writeAndroidSection, type AndroidRound } from './android-report.js';
import { pool } from './ios-fleet.js';
import { describeMachine } from './machine.js';
import { setGroupEnv } from './group-env.js';
import { summarize } from './stats.js';

// The issue's size, 10,000 agents; BENCH_ANDROID_DEVICES=1000 for a quicker look.
const DEVICES = Number(process.env.BENCH_ANDROID_DEVICES ?? 10_000);
/** Pushes in flight: the hub's wake worker takes 200 at a time; the peer does the same. */
const PUSH_CONCURRENCY = 200;
const ENROLL_CONCURRENCY = 64;
const log = (msg: string) => console.error(`[bench:android] ${msg}`);

function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

async function hubRound(fcm: FcmSimulator, account: SimServiceAccount, dir: string, refresh: () => void) {
  const keyFile = join(dir, 'service-account.json');
  await writeFile(keyFile, account.json, { mode: 0o600 });
  const restoreEnv = setGroupEnv({ HUB_FCM_SERVICE_ACCOUNT_FILE: keyFile, HUB_FCM_URL: fcm.url, HUB_FCM_TOKEN_URL: fcm.tokenUrl });
  const h = await startHub({ dmRateLimitPerMinute: 100_000_000, bodyLimitBytes: 8 * 1024 * 1024 }).catch((err: unknown) => {
    restoreEnv();
    throw err;
  });
  try {
    const org = await newTenant(h, 'android-bench');
    const t = await fetch(`${h.baseUrl}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${org.accessKey}:${org.accessSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    const bearer = ((await t.json()) as { access_token: string }).access_token;
    const agents = Array.from(
      { length: DEVICES },
      (_, i) => new AndroidAgent({ baseUrl: h.baseUrl, oauthToken: bearer, fcm, deviceIdentifier: `35${String(i).padStart(13, '0')}` }),
    );
    const e0 = performance.now();
    let enrolled = 0;
    await pool(agents, ENROLL_CONCURRENCY, async (a) => {
      await a.enroll();
      if (++enrolled % 1000 === 0) refresh();
    });
    const enrollSeconds = (performance.now() - e0) / 1000;
    log(`hub: ${DEVICES} agents enrolled in ${enrollSeconds.toFixed(1)} s`);
    refresh();
    const latencies: number[] = [];
    let last = 0;
    const done = new Promise<void>((resolve, reject) => {
      failOnLostWakeUps(agents, 'hub', reject);
      const on = (c: CommandRecord) => {
        if (c.operationStatus !== 'COMPLETED' || c.name !== 'DEVICE_LOCK') return;
        last = performance.now();
        latencies.push(Date.now() - c.createdAt);
        if (latencies.length % 1000 === 0) refresh(); // progress keeps the bench's watchdog quiet
        if (latencies.length === DEVICES) {
          h.hub.commands.off('status', on);
          resolve();
        }
      };
      h.hub.commands.on('status', on);
    });
    const cpu = process.cpuUsage();
    const pushes = fcm.count;
    const t0 = performance.now();
    const r = await fetch(`${h.baseUrl}/api/device-mgt/android/v1.0/admin/devices/lock-devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceIDs: agents.map((a) => a.deviceIdentifier), operation: { message: 'bench' } }),
    });
    if (r.status !== 201) throw new Error(`lock-devices answered ${r.status}: ${await r.text()}`);
    const enqueuedMs = performance.now() - t0;
    await done;
    const round: AndroidRound = {
      peer: 'hub',
      commands: DEVICES,
      wallMs: last - t0,
      enqueuedMs,
      latency: summarize(latencies),
      cpuMsPerCommand: cpuMs(cpu) / DEVICES,
      pushes: fcm.count - pushes,
    };
    return { round, enrollSeconds, tokenExchanges: fcm.tokensIssued };
  } finally {
    await h.close();
    restoreEnv();
  }
}

/**
 * Rejects as soon as an agent gives up a wake-up (its poll failed every try, simulators/src/wake-retry.ts):
 * its command would never complete, and the round would otherwise wait for the bench's watchdog.
 */
function failOnLostWakeUps(agents: AndroidAgent[], peer: string, reject: (err: Error) => void): void {
  for (const a of agents) {
    a.onWake = (end) => {
      if (end === 'gave-up')
        reject(new Error(`${peer}: agent ${a.deviceIdentifier} gave up a wake-up after every try (the server kept failing its polls)`));
    };
  }
}

async function bareRound(fcm: FcmSimulator, account: SimServiceAccount, refresh: () => void): Promise<AndroidRound> {
  const bare = new BareAndroidServer();
  await bare.start();
  try {
    const agents = Array.from(
      { length: DEVICES },
      (_, i) => new AndroidAgent({ baseUrl: bare.url, oauthToken: 'x', fcm, deviceIdentifier: `36${String(i).padStart(13, '0')}` }),
    );
    await pool(agents, ENROLL_CONCURRENCY, (a) => a.enroll());
    const provider = new FcmPushProvider({ account: parseServiceAccount(account.json), url: fcm.url, tokenUrl: fcm.tokenUrl });
    const issuedAt = new Map<string, number>();
    const latencies: number[] = [];
    let last = 0;
    const done = new Promise<void>((resolve, reject) => {
      failOnLostWakeUps(agents, 'peer', reject);
      bare.onCompleted = (id) => {
        last = performance.now();
        latencies.push(last - issuedAt.get(id)!);
        if (latencies.length % 1000 === 0) refresh(); // progress keeps the bench's watchdog quiet
        if (latencies.length === DEVICES) resolve();
      };
    });
    const cpu = process.cpuUsage();
    const pushes = fcm.count;
    const t0 = performance.now();
    for (const [i, a] of agents.entries()) {
      const id = String(1_000_000 + i);
      issuedAt.set(id, performance.now());
      bare.queued.set(a.deviceIdentifier, [
        { id, code: 'DEVICE_LOCK', type: 'PROFILE', status: 'PENDING', enabled: true, payLoad: { message: 'bench' } },
      ]);
    }
    const enqueuedMs = performance.now() - t0;
    await pool(agents, PUSH_CONCURRENCY, async (a) => {
      // Transient failures (a timeout or 429/5xx under load) are retried, as the hub's wake worker does.
      for (let attempt = 1; ; attempt++) {
        const outcome = await provider.wake({
          orgId: 'o',
          deviceType: 'android',
          deviceId: a.deviceIdentifier,
          token: a.fcmToken!,
          extra: {},
        });
        if (outcome.kind === 'sent') break;
        if (outcome.kind !== 'retry-after' || attempt === 8) throw new Error(`push failed: ${JSON.stringify(outcome)}`);
        await new Promise((resolve) => setTimeout(resolve, outcome.afterMs ?? 100 * attempt));
      }
    });
    await done;
    return {
      peer: 'bare',
      commands: DEVICES,
      wallMs: last - t0,
      enqueuedMs,
      latency: summarize(latencies),
      cpuMsPerCommand: cpuMs(cpu) / DEVICES,
      pushes: fcm.count - pushes,
    };
  } finally {
    await bare.stop();
  }
}

export async function runAndroidBenchmarks(refresh: () => void = () => undefined): Promise<void> {
  const startedAt = new Date();
  const loadStart = loadavg()[0] ?? NaN;
  const dir = await mkdtemp(join(tmpdir(), 'android-bench-'));
  const fcm = new FcmSimulator();
  fcm.recordLimit = 0;
  await fcm.start();
  try {
    const account = createServiceAccount('edgehub-bench', fcm.tokenUrl);
    fcm.addServiceAccount(account);
    log(`peer: bare server, ${DEVICES} agents`);
    const bare = await bareRound(fcm, account, refresh);
    log(`peer: ${(bare.commands / (bare.wallMs / 1000)).toFixed(0)} commands/s, p99 ${bare.latency.p99.toFixed(0)} ms`);
    refresh();
    const hub = await hubRound(fcm, account, dir, refresh);
    log(`hub: ${(hub.round.commands / (hub.round.wallMs / 1000)).toFixed(0)} commands/s, p99 ${hub.round.latency.p99.toFixed(0)} ms`);
    const section = renderAndroidSection({
      date: startedAt,
      durationS: (Date.now() - startedAt.getTime()) / 1000,
      machine: describeMachine(),
      loadAverage: { start: loadStart, end: loadavg()[0] ?? NaN },
      devices: DEVICES,
      pushConcurrency: PUSH_CONCURRENCY,
      enrollSeconds: hub.enrollSeconds,
      tokenExchanges: hub.tokenExchanges,
      rounds: [hub.round, bare],
    });
    log(`wrote ${await writeAndroidSection(section)}`);
  } finally {
    await fcm.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
