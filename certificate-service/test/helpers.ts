import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DeviceBinding } from '../src/index.js';

/**
 * Real tools, spawned with argument arrays (no shell): openssl and GnuTLS certtool make the CSRs
 * and judge the certificates, so nothing here trusts the code under test to grade itself.
 */

export const inCi = process.env['CI'] === 'true';

const toolPackages: Record<string, string> = { openssl: 'openssl', certtool: 'gnutls-bin' };

/** Which of the tools are missing. In CI a missing tool fails the suite (it would pass vacuously otherwise). */
export function missingTools(...tools: string[]): string[] {
  return tools.filter((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).error !== undefined);
}

export function missingMessage(missing: string[]): string {
  return missing.map((t) => `${t} not found on PATH (Debian package ${toolPackages[t] ?? t})`).join('; ');
}

/** Call in beforeAll of a suite that ran although something is missing: that only happens in CI. */
export function failIfMissing(missing: string[]): void {
  if (missing.length > 0) throw new Error(`CI=true but ${missingMessage(missing)}; .ci/run installs it`);
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], o: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: o.cwd, timeout: o.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(new Error(err.message, { cause: err }));
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (o.input !== undefined) child.stdin?.end(o.input);
  });
}

/** Runs and insists on success, with the tool's own words on failure. */
export async function runOk(cmd: string, args: string[], o: { cwd?: string; input?: string } = {}): Promise<string> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

export async function tempDir(prefix = 'certsvc-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The EnOS quickstart subject (§6) with a given CN; fields can be overridden or dropped (undefined). */
export function subject(cn: string, overrides: Partial<Record<'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN', string | undefined>> = {}): string {
  const fields: Record<string, string | undefined> = {
    C: 'CN',
    ST: 'Shanghai',
    L: 'Shanghai',
    O: 'EnOS',
    OU: 'Edge Service',
    CN: cn,
    ...overrides,
  };
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `/${k}=${v!.replace(/\//g, '\\/')}`)
    .join('');
}

/** Generates a key with openssl: `rsa:<bits>`, or an EC curve name such as prime256v1. */
export async function opensslKey(
  dir: string,
  name: string,
  kind: { rsa: number } | { curve: string } | { algorithm: string },
): Promise<string> {
  const path = join(dir, `${name}.key`);
  const args =
    'rsa' in kind
      ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${kind.rsa}`]
      : 'curve' in kind
        ? ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${kind.curve}`, '-pkeyopt', 'ec_param_enc:named_curve']
        : ['genpkey', '-algorithm', kind.algorithm];
  await runOk('openssl', [...args, '-out', path]);
  return path;
}

/** `openssl req -new` with an existing key; `extra` adds e.g. ['-sha384'] or ['-addext', 'basicConstraints=critical,CA:TRUE']. */
export async function opensslCsr(keyPath: string, subj: string, extra: string[] = []): Promise<string> {
  return runOk('openssl', ['req', '-new', '-key', keyPath, '-subj', subj, '-utf8', ...extra]);
}

/** A CSR from GnuTLS certtool with a template file (certtool writes the subject in its own order). */
export async function certtoolCsr(
  dir: string,
  name: string,
  kind: 'rsa' | 'ecdsa',
  fields: Record<string, string>,
): Promise<{ csrPem: string; keyPath: string }> {
  const keyPath = join(dir, `${name}.key`);
  const template = join(dir, `${name}.tmpl`);
  await runOk('certtool', [
    '--generate-privkey',
    kind === 'rsa' ? '--key-type=rsa' : '--key-type=ecdsa',
    kind === 'rsa' ? '--bits=2048' : '--curve=secp256r1',
    '--outfile',
    keyPath,
  ]);
  await writeFile(
    template,
    Object.entries(fields)
      .map(([k, v]) => `${k} = "${v}"`)
      .join('\n') + '\n',
  );
  const out = await runOk('certtool', ['--generate-request', '--load-privkey', keyPath, '--template', template]);
  return { csrPem: out.slice(out.indexOf('-----BEGIN')), keyPath };
}

/** The acceptance command: `openssl verify -CAfile root -untrusted issuing -purpose sslclient cert`. */
export async function opensslVerify(dir: string, pems: { root: string; issuing: string; cert: string; crl?: string }): Promise<Run> {
  const write = async (name: string, pem: string) => {
    const p = join(dir, name);
    await writeFile(p, pem);
    return p;
  };
  const tag = Math.random().toString(36).slice(2);
  const args = [
    'verify',
    '-CAfile',
    await write(`root-${tag}.pem`, pems.root),
    '-untrusted',
    await write(`issuing-${tag}.pem`, pems.issuing),
    '-purpose',
    'sslclient',
  ];
  if (pems.crl) args.push('-crl_check', '-CRLfile', await write(`crl-${tag}.pem`, pems.crl));
  args.push(await write(`cert-${tag}.pem`, pems.cert));
  return run('openssl', args);
}

/** `openssl x509 -text` of a PEM certificate. */
export async function certText(pem: string): Promise<string> {
  return runOk('openssl', ['x509', '-noout', '-text', '-nameopt', 'RFC2253'], { input: pem });
}

export async function certSubject(pem: string, type: 'x509' | 'req'): Promise<string> {
  return (await runOk('openssl', [type, '-noout', '-subject', '-nameopt', 'RFC2253'], { input: pem })).replace(/^subject=\s*/, '').trim();
}

/** Attribute → value, from openssl's RFC 2253 rendering (order-insensitive comparison). */
export function subjectMap(rfc2253: string): Record<string, string> {
  return Object.fromEntries(
    rfc2253.split(/(?<!\\),/).map((part) => {
      const i = part.indexOf('=');
      return [part.slice(0, i).trim(), part.slice(i + 1).trim()];
    }),
  );
}

/** The directory of CSRs in Debian's python3-cryptography-vectors, or undefined if not installed. */
export function cryptographyVectorsRequests(): string | undefined {
  const r = spawnSync('dpkg', ['-L', 'python3-cryptography-vectors'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const file = r.stdout.split('\n').find((l) => /\/requests\/[^/]+$/.test(l));
  return file ? dirname(file) : undefined;
}

let bindingCounter = 0;
/** A distinct device binding per call. */
export function binding(tag = 'dev'): DeviceBinding {
  const n = ++bindingCounter;
  return { orgId: 'o1578468179', productKey: 'x4jwTsoz', deviceKey: `${tag}-${n}`, assetId: `asset${n}` };
}

export function pemOf(der: Uint8Array | Buffer, label: string): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export async function derCrlToPem(der: Uint8Array): Promise<string> {
  return pemOf(der, 'X509 CRL');
}

export { readFile };
