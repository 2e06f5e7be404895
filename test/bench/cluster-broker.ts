/**
 * The broker peer of the `cluster` group's latency rows: bare aedes (test/bench/mqtt-aedes-server.ts,
 * the broker the hub is built on, in memory, no hooks) in its own process, pinned to the CPU the
 * ingesting hub node runs on, with the Node options `npm start` gives the hub (the same V8 heap
 * settings), so that the same latency generator at the same pace measures what the MQTT work of a
 * post costs on that core: one socket read per post, the PUBACK, one delivery to the application.
 * test/bench/cluster-bench.ts starts it once for the latency runs and warms it with one unreported run.
 *
 * Profiling: BENCH_PROFILE=<dir> runs it under `node --cpu-prof --cpu-prof-dir=<dir>`; the profile is
 * written when it stops (summary: `node --import tsx test/bench/cpu-profile-summary.ts <file>`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { startFlags, repoRoot } from '../src/index.js';
import { stopChild, track } from './cluster-procs.js';
import { pinnedCommand } from './mqtt-proc.js';

export interface LatencyBroker {
  pid: number;
  port: number;
  /** `aedes <version>`, as the server prints it (`+ LMDB` when it holds posts until they are durable). */
  version: string;
  /** Holds each post until its rows are committed (the broker and the engine in one process). */
  durable: boolean;
  stop(): Promise<void>;
}

function listening(child: ChildProcess, timeoutMs: number): Promise<{ port: number; version: string }> {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bare aedes did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`bare aedes exited with ${code}:\n${out}`));
    };
    child.once('exit', onExit);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+) aedes (\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({ port: Number(m[1]), version: `aedes ${m[2]}` });
    });
  });
}

/**
 * Starts bare aedes pinned to `cpu` (all threads: `taskset -c` before exec) and waits until it
 * listens. With `storeDir`, the broker and the engine in one process: each post is held until its
 * rows are committed to an LMDB store there (test/bench/mqtt-aedes-server.ts, `--store`).
 */
export async function startLatencyBroker(cpu: number, storeDir?: string): Promise<LatencyBroker> {
  const profileDir = process.env.BENCH_PROFILE;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const [cmd, args] = pinnedCommand(cpu, process.execPath, [
    ...startFlags(),
    ...profile,
    '--import',
    'tsx',
    'test/bench/mqtt-aedes-server.ts',
    ...(storeDir ? ['--store', storeDir] : []),
  ]);
  const child = track(spawn(cmd, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] }), 'bare aedes (latency peer)');
  const { port, version } = await listening(child, 20_000);
  return {
    pid: child.pid!,
    port,
    version: storeDir ? `${version} + LMDB` : version,
    durable: storeDir !== undefined,
    stop: () => stopChild(child, 5_000),
  };
}
