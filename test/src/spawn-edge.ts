import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { repoRoot } from './spawn-hub.js';

export interface SpawnedEdge {
  child: ChildProcess;
  /** Readings the edge took, and those durable in its buffer, as `deviceKey time` (EDGE_TRACE). */
  read: string[];
  durable: string[];
  output(): string;
  /** Resolves when `predicate` holds for the traces (checked on every output chunk). */
  until(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The real edge binary, compiled as `npm run edge` runs it (`edge start --config`), with its reading trace on. */
export async function spawnEdge(configFile: string): Promise<SpawnedEdge> {
  const child = spawn(process.execPath, ['edge/dist/bin/edge.js', 'start', '--config', configFile, '--log-level', 'warn'], {
    cwd: repoRoot,
    env: { ...process.env, EDGE_TRACE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let partial = '';
  const read: string[] = [];
  const durable: string[] = [];
  const checks = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^TRACE (read|durable) (\S+) (\d+)$/.exec(line);
      if (m) (m[1] === 'read' ? read : durable).push(`${m[2]} ${m[3]}`);
    }
    for (const c of checks) c();
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const started = () => out.includes(' started: ');
  const edge: SpawnedEdge = {
    child,
    read,
    durable,
    output: () => out,
    until(predicate, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate()) return;
          checks.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          checks.delete(check);
          reject(new Error(`edge condition not met in ${timeoutMs} ms:\n${out.slice(-2000)}`));
        }, timeoutMs);
        checks.add(check);
        child.once('exit', () => {
          if (checks.has(check)) {
            checks.delete(check);
            clearTimeout(timer);
            reject(new Error(`edge exited:\n${out.slice(-2000)}`));
          }
        });
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await once(child, 'exit');
    },
  };
  await edge.until(started);
  return edge;
}
