/**
 * A first start makes its CA and the MQTT TLS listener's certificates while it opens its stores
 * and bootstraps the registry (hub/src/hub.ts, docs/BENCHMARKS.md "Start-up"). A hub killed (-9)
 * while those files are being written restarts into a working hub: the CA is whole, the listener's
 * certificates chain to it, and private keys are 0600.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { watch } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freeHubPorts, repoRoot, spawnHub } from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Starts the compiled hub on an empty data directory and kills it (-9) when a file matching `at` appears in it. */
async function killWhenWritten(dataDir: string, at: RegExp): Promise<{ signal: NodeJS.Signals | null; output: string; seen?: string }> {
  let seen: string | undefined;
  const child = spawn(process.execPath, ['hub/dist/bin/hub.js'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      HUB_DATA_DIR: dataDir,
      ...freeHubPorts,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const watcher = watch(dataDir, { recursive: true }, (_event, name) => {
    if (seen === undefined && name !== null && at.test(name)) {
      seen = name;
      child.kill('SIGKILL');
    }
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    return { signal, output, ...(seen ? { seen } : {}) };
  } finally {
    watcher.close();
  }
}

const moments = [
  // Either inside the temporary directory the CA is made in, or (were it made in place) in ca/ itself.
  { name: 'a CA key is written', at: /^certificates\/ca[^/]*\/(root|RSA|ECC)\.key$/ },
  { name: "the first of the listener's keys is written", at: /^tls\/server-(ecdsa|rsa)\.key$/ },
];

describe('first start: killed while the CA and the listener certificates are written', () => {
  for (const { name, at } of moments) {
    it(`restarts into a whole CA and a listener certificate from it (killed when ${name})`, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'edgehub-first-start-crash-'));
      dirs.push(dataDir);
      const crashed = await killWhenWritten(dataDir, at);
      expect(crashed.seen, crashed.output).toBeDefined();
      expect(crashed.signal, crashed.output).toBe('SIGKILL');
      // Killed during the start, not after it.
      expect(crashed.output).not.toMatch(/REST API\s+http/);

      const hub = await spawnHub({ HUB_DATA_DIR: dataDir });
      try {
        const ca = join(dataDir, 'certificates', 'ca');
        for (const key of ['root.key', 'RSA.key', 'ECC.key']) expect((await stat(join(ca, key))).mode & 0o777).toBe(0o600);
        for (const key of ['server-ecdsa.key', 'server-rsa.key']) expect((await stat(join(dataDir, 'tls', key))).mode & 0o777).toBe(0o600);
        // The listener serves certificates of the CA the restart uses: its CA file is that root.
        expect(await readFile(join(dataDir, 'tls', 'ca.crt'), 'utf8')).toBe(await readFile(join(ca, 'root.crt'), 'utf8'));
        const res = await fetch(`${hub.baseUrl}/health`);
        expect(res.status).toBe(200);
      } finally {
        expect(await hub.stop('SIGTERM')).toBe(0);
      }
    }, 120_000);
  }
});
