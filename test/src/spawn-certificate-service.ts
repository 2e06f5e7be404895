import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { repoRoot } from './spawn-hub.js';

export interface SpawnedCertificateService {
  child: ChildProcess;
  /** Resolves with the service's base URL once it listens; rejects if it exits first. */
  started: Promise<string>;
  exited: Promise<{ code: number | null; output: string }>;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The standalone certificate service as `node --import tsx certificate-service/src/main.ts` runs it, on an ephemeral port. */
export function spawnCertificateService(
  env: { dataDir: string; sharedSecret: string } & Record<string, string>,
): SpawnedCertificateService {
  const { dataDir, sharedSecret, ...rest } = env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'certificate-service/src/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      CERT_SERVICE_DATA_DIR: dataDir,
      CERT_SERVICE_PORT: '0',
      CERT_SERVICE_SECRET: sharedSecret,
      LOG_LEVEL: 'warn',
      ...rest,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const started = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Hub API\s+(https?:\/\/[^/\s]+)\/v1\//.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`certificate service exited with ${code}:\n${out}`)));
  });
  started.catch(() => undefined);
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, output: out }));
  return {
    child,
    started,
    exited,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
