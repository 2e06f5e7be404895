import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ToolExit {
  /** null when the tool was killed (its timeout passed). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr. */
  out: string;
}

/** Runs a command-line tool (openssl, mosquitto_pub, …) to its end; killed after `timeoutMs`. */
export function runTool(cmd: string, args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<ToolExit> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: o.timeoutMs ?? 20_000, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(o.input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, out: stdout + stderr }));
  });
}

/**
 * A device's P-256 key and PKCS#10 CSR made by the real `openssl` (as a device maker would), as
 * `{dir}/{name}.key` and `{dir}/{name}.csr`, with the EnOS-style subject ending in CN=`cn`.
 */
export async function opensslCsr(dir: string, name: string, cn: string): Promise<{ keyFile: string; csrFile: string; csrPem: string }> {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const steps = [
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile],
    ['req', '-new', '-key', keyFile, '-out', csrFile, '-subj', `/C=CN/ST=Shanghai/L=Shanghai/O=EnOS/OU=Edge/CN=${cn}`],
  ];
  for (const args of steps) {
    const r = await runTool('openssl', args);
    if (r.code !== 0) throw new Error(`openssl ${args[0]} exited ${String(r.code)}: ${r.out}`);
  }
  return { keyFile, csrFile, csrPem: await readFile(csrFile, 'utf8') };
}
