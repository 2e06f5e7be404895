/**
 * Mutual-TLS handshake client of the `cert` group: one child process (pinned to CPU 1 by the
 * orchestrator) that runs full TLS handshakes with a client certificate against each target in
 * turn, `concurrency` at a time, and prints one JSON line.
 *
 *   node --import tsx test/bench/cert-handshake.ts <job.json>
 *
 * Every connection is new and offers no session, so every handshake is a full one (TLS 1.3,
 * ECDHE, the server's CertificateRequest, the client's Certificate and CertificateVerify). What
 * counts as one:
 * - `handshake`: the server's first NewSessionTicket has arrived. A TLS 1.3 server sends it only
 *   after it has read the client's Finished, i.e. after it verified the client's certificate chain
 *   and CertificateVerify; the client's own "secureConnect" comes earlier, before the server has
 *   checked anything. The connection is then closed (close_notify + FIN).
 * - `connect` (the hub only): after the handshake a signed MQTT CONNECT of the device the
 *   certificate is bound to; counted at its CONNACK 0, then DISCONNECT.
 * The server's CPU (all threads) is read from /proc over each target's window.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { snapshotCpu, usageBetween, type CpuUsage } from './cluster-cpu.js';
import { connectBytes, FrameReader, type ConnectSpec } from './mqtt-frames.js';
import { summarize, type LatencySummary } from './stats.js';

/** The client certificate's key; `none`: no certificate (server authentication only; the hub and Node accept that, s_server -Verify does not). */
export type ClientKeyType = 'ecdsa' | 'rsa' | 'none';

export interface Identity {
  /** Empty for `none`. */
  keyPem: string;
  certPem: string;
  /** The signed CONNECT of the device this certificate is bound to (connect mode). */
  connect?: ConnectSpec;
}

export interface HandshakeTarget {
  /** Which server (hub, node-tls, s_server), for the report. */
  server: string;
  port: number;
  serverPid: number;
  mode: 'handshake' | 'connect';
  keyType: ClientKeyType;
}

export interface HandshakeJob {
  targets: HandshakeTarget[];
  identities: Record<ClientKeyType, Identity[]>;
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  /** Pause between targets, for the previous server to settle. */
  pauseMs: number;
  clkTck: number;
  deadlineMs: number;
}

export interface HandshakeRun extends HandshakeTarget {
  /** Handshakes (or CONNACKs) completed in the window. */
  completed: number;
  seconds: number;
  perSec: number;
  /** Connections that failed (alert, reset, refused CONNECT) over the whole run, warm-up included. */
  errors: number;
  firstError?: string;
  /** TCP connect → counted event, ms. */
  latency: LatencySummary;
  /** `server` and `client` (this process) over the window. */
  cpu: CpuUsage;
  /** The negotiated protocol and cipher of the last connection. */
  protocol: string;
}

export interface HandshakeResult {
  runs: HandshakeRun[];
}

const DISCONNECT = Buffer.from([0xe0, 0x00]);
const now = () => performance.now();

function once(
  target: HandshakeTarget,
  ctx: SecureContext,
  identity: Identity,
  timeoutMs: number,
): Promise<{ ms: number; protocol: string }> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    let done = false;
    // The client does not verify the server here (what is measured is the server's work); the
    // server verifies the client's chain as it would for a device.
    const sock: TLSSocket = tlsConnect({
      host: '127.0.0.1',
      port: target.port,
      secureContext: ctx,
      servername: 'localhost',
      rejectUnauthorized: false,
    });
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        sock.destroy();
        return reject(err);
      }
      const protocol = `${sock.getProtocol() ?? '?'} ${sock.getCipher()?.name ?? '?'}`;
      if (target.mode === 'connect') sock.end(DISCONNECT);
      else sock.end();
      resolve({ ms: now() - t0, protocol });
    };
    const timer = setTimeout(
      () => finish(new Error(`no ${target.mode === 'connect' ? 'CONNACK' : 'session ticket'} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.setNoDelay(true);
    sock.on('error', (err: Error) => finish(err));
    sock.on('close', () => finish(new Error('closed by the server')));
    if (target.mode === 'handshake') {
      sock.once('session', () => finish());
    } else {
      if (!identity.connect) return finish(new Error('connect mode needs a CONNECT per identity'));
      const reader = new FrameReader({ connack: (rc) => finish(rc === 0 ? undefined : new Error(`CONNACK ${rc}`)) }, Buffer.from('-'));
      sock.on('data', (d: Buffer) => reader.push(d));
      sock.once('secureConnect', () => sock.write(connectBytes(identity.connect!)));
    }
  });
}

async function runTarget(job: HandshakeJob, target: HandshakeTarget): Promise<HandshakeRun> {
  const identities = job.identities[target.keyType];
  if (identities.length === 0) throw new Error(`no ${target.keyType} identity`);
  // One SecureContext per identity, made once: the client's key and certificate are not re-parsed per connection.
  const contexts = identities.map((id) => createSecureContext(id.keyPem ? { key: id.keyPem, cert: id.certPem } : {}));
  const pids = { server: target.serverPid, client: process.pid };
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let completed = 0;
  let protocol = '';
  let measuring = false;
  let stopped = false;
  const t0 = now();
  const worker = async (w: number) => {
    // In connect mode each worker is one device: the same ClientId never connects twice at once.
    const k = w % identities.length;
    while (!stopped) {
      try {
        const r = await once(target, contexts[k]!, identities[k]!, 10_000);
        protocol = r.protocol;
        if (measuring) {
          completed++;
          latencies.push(r.ms);
        }
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
        await sleep(10);
      }
    }
  };
  const workers = Array.from({ length: job.concurrency }, (_, w) => worker(w));
  await sleep(Math.max(0, job.warmupMs - (now() - t0)));
  const cpu0 = snapshotCpu(pids, job.clkTck);
  measuring = true;
  await sleep(job.measureMs);
  measuring = false;
  const cpu = usageBetween(cpu0, snapshotCpu(pids, job.clkTck));
  stopped = true;
  await Promise.all(workers);
  return {
    ...target,
    completed,
    seconds: cpu.seconds,
    perSec: completed / cpu.seconds,
    errors,
    ...(firstError ? { firstError } : {}),
    latency: summarize(latencies.length > 0 ? latencies : [NaN]),
    cpu,
    protocol,
  };
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: cert-handshake.ts <job.json>');
  const job = JSON.parse(readFileSync(path, 'utf8')) as HandshakeJob;
  setTimeout(() => {
    process.stderr.write(`cert-handshake: deadline of ${job.deadlineMs} ms reached\n`);
    process.exit(4);
  }, job.deadlineMs).unref();
  const runs: HandshakeRun[] = [];
  for (const target of job.targets) {
    runs.push(await runTarget(job, target));
    await sleep(job.pauseMs);
  }
  process.stdout.write(`${JSON.stringify({ runs } satisfies HandshakeResult)}\n`, () => process.exit(0));
}

process.stdin.on('end', () => process.exit(3));
process.stdin.resume();

main().catch((err: unknown) => {
  process.stderr.write(`cert-handshake: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
