import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface SpawnedHub {
  child: ChildProcess;
  baseUrl: string;
  /** Plain MQTT URL, when the node accepts devices. */
  mqttUrl?: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The Node options `npm start` gives the hub (the root package.json's `start` script, e.g. V8's
 * young-generation size, docs/BENCHMARKS.md "MQTT fan-in: the third pass"), so that tests and
 * benches run the hub as a user does.
 */
export function startFlags(): string[] {
  const pkg: unknown = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const start = (pkg as { scripts?: { start?: unknown } }).scripts?.start;
  if (typeof start !== 'string') return [];
  const words = start.split(/\s+/).filter(Boolean);
  if (words[0] !== 'node') return [];
  const flags: string[] = [];
  for (const w of words.slice(1)) {
    if (!w.startsWith('--')) break;
    flags.push(w);
  }
  return flags;
}

/** Every listener of the hub on a port the system picks (the tests' and benches' hubs never collide). */
export const freeHubPorts = { HUB_HTTP_PORT: '0', HUB_MQTT_PORT: '0', HUB_MQTTS_PORT: '0', HUB_MQTT_WS_PORT: '0' } as const;

/**
 * Starts the real hub binary, compiled as `npm start` runs it (hub/dist/bin/hub.js, built by the
 * tests' global setup, test/src/build-dist.ts), and waits for it to print its URLs.
 *
 * For profiling and experiments (benchmarks only): BENCH_HUB_NODE_ARGS adds node options
 * (space-separated, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, which NODE_OPTIONS refuses) and
 * BENCH_HUB_ENTRY runs another entry point (e.g. `hub/dist/bin/hub.cjs`, without the code cache).
 * BENCH_HUB_LOG=<prefix> also writes the hub's standard output to `<prefix>-<pid>.out`, for what V8
 * prints there (`BENCH_HUB_NODE_ARGS=--trace-gc`, docs/BENCHMARKS.md, "Device → application latency: the tail").
 */
export async function spawnHub(env: Record<string, string>, timeoutMs = 30_000): Promise<SpawnedHub> {
  const nodeArgs = [...startFlags(), ...(process.env.BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const entry = process.env.BENCH_HUB_ENTRY ?? 'hub/dist/bin/hub.js';
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...freeHubPorts,
      HUB_MQTT_CONNECT_THROTTLE: 'false',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  if (process.env.BENCH_HUB_LOG) child.stdout.pipe(createWriteStream(`${process.env.BENCH_HUB_LOG}-${child.pid}.out`));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /REST API\s+(http:\/\/[^/\s]+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code}:\n${out}`));
    });
  });
  const mqtt = /MQTT\s+(mqtt:\/\/[^\s]+)/.exec(out)?.[1];
  return {
    child,
    baseUrl,
    ...(mqtt ? { mqttUrl: mqtt } : {}),
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
