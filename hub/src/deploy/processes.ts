import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** One process of a local cluster, started from its own binary (never through npm). */
export interface ClusterProcess {
  name: string;
  child: ChildProcess;
  /** Everything it printed (stdout and stderr), for errors and tests. */
  output(): string;
  /** Sends `signal` and resolves with the exit code once it has exited (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

/**
 * Starts `command` and resolves once its output matches `ready` (at once when `ready` is null);
 * rejects if it exits first.
 */
export async function startProcess(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp | null,
  cwd: string,
  timeoutMs = 60_000,
): Promise<ClusterProcess> {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const collect = (d: Buffer) => {
    out += d.toString();
    if (out.length > 1_000_000) out = out.slice(-500_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  await new Promise<void>((resolve, reject) => {
    if (!ready) return resolve();
    const timer = setTimeout(() => reject(new Error(`${name} did not get ready within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      if (!ready.test(out)) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      child.stderr.off('data', check);
      resolve();
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${name}: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${out}`));
    });
  });
  return {
    name,
    child,
    output: () => out,
    async stop(signal = 'SIGTERM', graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit') as Promise<[number | null]>;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const [code] = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * A free TCP port on `host` for a process that binds it later (the cluster's ports must be known
 * before HAProxy starts). Taken below Linux's ephemeral range (32768–60999 by default), so that
 * neither an outgoing connection nor another listener on port 0 can grab it in between.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    // A port handed out earlier may not be bound yet (HAProxy starts after the hubs): never hand it out twice.
    if (issuedPorts.has(port)) continue;
    if (await canBind(host, port)) {
      issuedPorts.add(port);
      return port;
    }
  }
  throw new Error(`no free port found on ${host} between 20000 and 32000`);
}

const issuedPorts = new Set<number>();

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}
