import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { ApnsSimulator, createCa, issue, issuePushCertificate, type Identity, type SimCa } from '../../simulators/src/apple/index.js';

export const benchTopic = 'com.apple.mgmt.External.0b5e7c1d-6f2a-4c3b-9d8e-7a6b5c4d3e2f';

/** The PKI and APNs simulator both peers share: a device CA, Apple's (sim) CA, the APNs server identity. */
export interface AppleWorld {
  deviceCa: SimCa;
  serverCa: SimCa;
  push: Identity;
  /** The bare peer's HTTPS server identity (transport tls), from `serverCa`. */
  bareServer: Identity;
  apns: ApnsSimulator;
  identities: Identity[];
  identitySeconds: number;
}

export async function openAppleWorld(devices: number): Promise<AppleWorld> {
  const [deviceCa, appleCa, serverCa] = await Promise.all([
    createCa('Bench device CA'),
    createCa('Bench Apple CA'),
    createCa('Bench APNs server CA'),
  ]);
  const server = await issue(serverCa, { subject: { CN: 'localhost' }, ips: ['127.0.0.1'], server: true });
  const push = await issuePushCertificate(appleCa, benchTopic);
  const bareServer = await issue(serverCa, { subject: { CN: 'localhost' }, ips: ['127.0.0.1'], server: true });
  const apns = new ApnsSimulator({ certPem: server.certPem, keyPem: server.keyPem, clientCaPem: appleCa.certPem });
  apns.recordLimit = 0;
  await apns.start();
  const t0 = performance.now();
  const identities: Identity[] = [];
  for (let i = 0; i < devices; i += 256) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(256, devices - i) }, (_, j) => issue(deviceCa, { subject: { CN: `bench-iphone-${i + j}` } })),
    );
    identities.push(...batch);
  }
  return { deviceCa, serverCa, push, bareServer, apns, identities, identitySeconds: (performance.now() - t0) / 1000 };
}

/**
 * CPU time (user + system, ms) this thread has used, from /proc/thread-self/stat (Linux; 10 ms
 * ticks). Unlike event-loop busy time it does not count the time a runnable thread waits for a CPU
 * on a loaded machine, so it is the cost to compare (docs/BENCHMARKS.md, "Apple MDM: the command loop").
 */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** Runs `task` over `items` with at most `limit` at once. */
export async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

/** A phone as the server side needs it: to look it up (udid) or to push it directly (the bare peer). */
export interface BenchPhone {
  udid: string;
  tokenHex: string;
  pushMagic: string;
}

export type FleetRequest =
  | {
      type: 'fleet';
      name: string;
      serverUrl: string;
      prefix: string;
      enroll: boolean;
      /** Transport tls: the phones present their identity as TLS client certificate and sign nothing. */
      tls?: { caPem: string };
    }
  | { type: 'utilization' }
  | { type: 'stop' };

export type FleetReply =
  | {
      type: 'world';
      deviceCaPem: string;
      serverCaPem: string;
      pushCertPem: string;
      pushKeyPem: string;
      bareServerCertPem: string;
      bareServerKeyPem: string;
      apnsUrl: string;
      identitySeconds: number;
    }
  | { type: 'fleet-ready'; name: string; enrollSeconds: number; phones: BenchPhone[] }
  | { type: 'utilization'; elu: EventLoopUtilization; cpuMs: number; sessionRetries: number }
  | { type: 'stopped' }
  /** Phones enrolled so far (every 500): the bench's watchdog is kept alive by progress. */
  | { type: 'progress'; done: number }
  | { type: 'failed'; error: string };

type Reply<K extends FleetReply['type']> = Extract<FleetReply, { type: K }>;

/**
 * The main thread's handle on the phone side (test/bench/ios-fleet-worker.ts): the APNs simulator
 * and the simulated iPhones live in a worker thread, the server under test on the main thread.
 */
export class FleetWorker {
  private readonly waiting: { type: FleetReply['type']; resolve: (m: FleetReply) => void; reject: (e: Error) => void }[] = [];
  private failure?: Error;
  /** Called on every progress report of the phone side. */
  onProgress: (done: number) => void = () => undefined;

  private constructor(
    private readonly worker: Worker,
    readonly world: Reply<'world'>,
  ) {
    worker.on('message', (m: FleetReply) => this.dispatch(m));
    worker.on('error', (err) => this.fail(err));
  }

  static async start(devices: number): Promise<FleetWorker> {
    // The entry is a small script that registers tsx in the worker (loader hooks are per thread)
    // and then imports the TypeScript worker.
    const entry = new URL('./ios-fleet-worker.ts', import.meta.url).href;
    const script = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
    const worker = new Worker(script, { eval: true, workerData: { devices } });
    const world = await new Promise<Reply<'world'>>((resolve, reject) => {
      const onMessage = (m: FleetReply) => {
        if (m.type === 'world') resolve(m);
        else if (m.type === 'failed') reject(new Error(m.error));
      };
      worker.once('message', onMessage);
      worker.once('error', reject);
    });
    return new FleetWorker(worker, world);
  }

  private dispatch(m: FleetReply): void {
    if (m.type === 'failed') return this.fail(new Error(`phone side: ${m.error}`));
    if (m.type === 'progress') return this.onProgress(m.done);
    const i = this.waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(m);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  private ask<K extends FleetReply['type']>(req: FleetRequest, type: K): Promise<Reply<K>> {
    if (this.failure) return Promise.reject(this.failure);
    const p = new Promise<FleetReply>((resolve, reject) => this.waiting.push({ type, resolve, reject }));
    this.worker.postMessage(req);
    return p as Promise<Reply<K>>;
  }

  /** Creates a fleet pointed at `serverUrl`; enrolled through it, or only registered with APNs (the bare peer). */
  fleet(name: string, serverUrl: string, prefix: string, enroll: boolean, tls?: { caPem: string }): Promise<Reply<'fleet-ready'>> {
    return this.ask({ type: 'fleet', name, serverUrl, prefix, enroll, ...(tls ? { tls } : {}) }, 'fleet-ready');
  }

  /** The phone thread's event-loop use so far, and how many check-in sessions had to be tried again. */
  async utilization(): Promise<{ elu: EventLoopUtilization; cpuMs: number; sessionRetries: number }> {
    const r = await this.ask({ type: 'utilization' }, 'utilization');
    return { elu: r.elu, cpuMs: r.cpuMs, sessionRetries: r.sessionRetries };
  }

  /** Surfaces a phone-side failure (a phone that could not finish a session) as a rejection. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  async stop(): Promise<void> {
    if (!this.failure) await this.ask({ type: 'stop' }, 'stopped');
    await this.worker.terminate();
  }
}
