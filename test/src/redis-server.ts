import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export interface RunningRedis {
  url: string;
  port: number;
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  resume(): void;
  /** How many times the server has run a command since it started (`INFO commandstats`). */
  commandCount(command: string): Promise<number>;
  stop(): Promise<void>;
}

/** Whether a real redis-server is installed (Debian package redis-server). */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A free loopback TCP port (for servers that cannot take port 0, or must keep a port across restarts). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A real redis-server on a free loopback port, no persistence, stopped by the test. */
export async function startRedis(options: { port?: number } = {}): Promise<RunningRedis> {
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async commandCount(command: string) {
      const r = spawnSync('redis-cli', ['-p', String(port), 'info', 'commandstats'], { encoding: 'utf8' });
      const m = new RegExp(`cmdstat_${command.toLowerCase()}:calls=(\\d+)`).exec(r.stdout);
      return m ? Number(m[1]) : 0;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/**
 * Suites that need a real service call this: under CI=true a missing service is a failure (.ci/run
 * installs it); elsewhere the suite is skipped and says so by name.
 */
export function requireService(available: boolean, what: string): boolean {
  if (available) return true;
  if (process.env['CI'] === 'true') throw new Error(`${what} is required under CI=true but is not installed`);
  console.warn(`SKIPPED: ${what} is not installed`);
  return false;
}
