/**
 * The OpenSSL side of the `cert` group: CSRs made with `openssl req`, the peers that sign them
 * (`openssl x509 -req` once per certificate, `openssl ca` once for a batch), `openssl speed` as the
 * raw-signing ceiling, and `openssl s_server` as the mutual-TLS peer. Every tool runs under
 * `runTool` (cluster-procs.ts): tracked, optionally pinned, its CPU time read from the shell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTool, stopChild, track, type ToolRun } from './cluster-procs.js';
import { pinnedCommand } from './mqtt-proc.js';

/** A shell word, single-quoted. */
export const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface Subject {
  C: string;
  ST: string;
  O: string;
}

export type CsrKey = 'ec' | 'rsa';

/**
 * `count` CSRs `{dir}/{prefix}-{i}.csr` (keys beside them, `.key`), each with its own new key and
 * its own CN `{prefix}-{i}`, in the subject form the CA requires (C, ST, O as the CA's; L, OU, CN).
 * One `openssl req` per CSR, in `parallel` shells.
 */
export async function makeCsrs(
  dir: string,
  prefix: string,
  count: number,
  key: CsrKey,
  subject: Subject,
  parallel = 2,
): Promise<{ csr: string; key: string }[]> {
  const newkey = key === 'ec' ? '-newkey ec -pkeyopt ec_paramgen_curve:P-256' : '-newkey rsa:2048';
  const items = Array.from({ length: count }, (_, i) => ({
    csr: join(dir, `${prefix}-${i}.csr`),
    key: join(dir, `${prefix}-${i}.key`),
    cn: `${prefix}-${i}`,
  }));
  const shells = Array.from({ length: parallel }, (_, p) => items.filter((_, i) => i % parallel === p));
  await Promise.all(
    shells.map(async (batch) => {
      if (batch.length === 0) return;
      const lines = batch.map(
        (it) =>
          `openssl req -new ${newkey} -nodes -keyout ${sq(it.key)} -out ${sq(it.csr)} -subj ${sq(`/C=${subject.C}/ST=${subject.ST}/L=Shanghai/O=${subject.O}/OU=Bench/CN=${it.cn}`)} 2>/dev/null || exit 1`,
      );
      const r = await runTool(lines.join('\n'), { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
    }),
  );
  return items.map(({ csr, key: k }) => ({ csr, key: k }));
}

/**
 * The extensions of the hub's device profile (certificate-service/src/profile.ts), for openssl:
 * CA:FALSE, keyUsage digitalSignature, EKU clientAuth, SKI, AKI, a CRL distribution point. (The
 * hub adds keyEncipherment for RSA device keys; the CSRs here carry EC keys.)
 */
export function leafExtensions(crlUrl: string): string {
  return [
    '[leaf]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    'extendedKeyUsage = clientAuth',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    `crlDistributionPoints = URI:${crlUrl}`,
    '',
  ].join('\n');
}

export interface SigningCa {
  cert: string;
  key: string;
}

/**
 * `openssl x509 -req` once per CSR, from one shell loop (fork + exec per certificate, no Node in
 * between). OpenSSL 3 draws a random serial when no serial file is given.
 */
export async function x509PerCertificate(
  ca: SigningCa,
  csrs: string[],
  outDir: string,
  extFile: string,
  validDays: number,
  cpu: number | undefined,
): Promise<ToolRun> {
  const lines = csrs.map(
    (csr, i) =>
      `openssl x509 -req -in ${sq(csr)} -CA ${sq(ca.cert)} -CAkey ${sq(ca.key)} -days ${validDays} -sha256 -extfile ${sq(extFile)} -extensions leaf -out ${sq(join(outDir, `${i}.crt`))} 2>/dev/null || exit 1`,
  );
  const r = await runTool(lines.join('\n'), { ...(cpu === undefined ? {} : { cpu }), timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`openssl x509 -req failed: ${r.stderr}`);
  return r;
}

/**
 * `openssl ca -batch` over every CSR in one process: the same extensions, subjects kept as in the
 * CSR (`-preserveDN`), random serials, and its text database with `unique_subject = yes` (the
 * counterpart of the service's CN uniqueness check). It writes each certificate to `new_certs_dir`
 * and the batch to one file; nothing is fsync'd.
 */
export async function caBatch(
  dir: string,
  ca: SigningCa,
  csrs: string[],
  crlUrl: string,
  validDays: number,
  cpu: number | undefined,
): Promise<ToolRun> {
  const config = join(dir, 'ca.cnf');
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(
    config,
    [
      '[ca]',
      'default_ca = bench',
      '[bench]',
      `database = ${join(dir, 'index.txt')}`,
      `new_certs_dir = ${dir}`,
      `certificate = ${ca.cert}`,
      `private_key = ${ca.key}`,
      'rand_serial = yes',
      `default_days = ${validDays}`,
      'default_md = sha256',
      'policy = anything',
      'unique_subject = yes',
      'copy_extensions = none',
      'email_in_dn = no',
      'x509_extensions = leaf',
      '[anything]',
      'countryName = supplied',
      'stateOrProvinceName = supplied',
      'localityName = optional',
      'organizationName = supplied',
      'organizationalUnitName = optional',
      'commonName = supplied',
      leafExtensions(crlUrl),
    ].join('\n'),
  );
  const r = await runTool(
    `openssl ca -batch -config ${sq(config)} -notext -preserveDN -out ${sq(join(dir, 'batch.pem'))} -infiles ${csrs.map(sq).join(' ')} 2>/dev/null`,
    {
      ...(cpu === undefined ? {} : { cpu }),
      timeoutMs: 120_000,
    },
  );
  if (r.code !== 0) throw new Error(`openssl ca failed (${r.code}): ${r.stderr}`);
  return r;
}

export interface SpeedResult {
  rsa2048: { sign: number; verify: number };
  ecdsap256: { sign: number; verify: number };
  command: string;
}

/** `openssl speed -mr` for RSA-2048 and ECDSA P-256 on one CPU: sign/s and verify/s. */
export async function opensslSpeed(seconds: number, cpu: number | undefined): Promise<SpeedResult> {
  const command = `openssl speed -mr -seconds ${seconds} rsa2048 ecdsap256`;
  const r = await runTool(`${command} 2>&1`, { ...(cpu === undefined ? {} : { cpu }), timeoutMs: 60_000 });
  // Machine-readable totals: +F2:<n>:2048:<sign/s>:<verify/s> (RSA), +F4:<n>:256:<sign/s>:<verify/s> (ECDSA).
  const rsa = /^\+F2:\d+:2048:([\d.]+):([\d.]+)/m.exec(r.stdout);
  const ec = /^\+F4:\d+:256:([\d.]+):([\d.]+)/m.exec(r.stdout);
  if (r.code !== 0 || !rsa || !ec) throw new Error(`openssl speed gave no result (${r.code}):\n${r.stdout.slice(-1000)}`);
  return { rsa2048: { sign: Number(rsa[1]), verify: Number(rsa[2]) }, ecdsap256: { sign: Number(ec[1]), verify: Number(ec[2]) }, command };
}

/** Whether something listens on 127.0.0.1:`port` (IPv4, /proc/net/tcp state LISTEN). */
export function listening(port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return f[1] === local && f[3] === '0A';
    });
}

export interface SServer {
  pid: number;
  child: ChildProcess;
  command: string;
  stop(): Promise<void>;
}

/**
 * `openssl s_server` requiring and verifying a client certificate (`-Verify`) against `caFile`,
 * with the given server key and certificate, pinned to `cpu`, silent (`-quiet -verify_quiet`).
 * `-www` keeps it off stdin: after the handshake it waits for an HTTP request, and closes when the
 * client does. It serves one connection at a time (it is an iterative test server).
 */
export async function startSServer(port: number, cert: string, key: string, caFile: string, cpu: number | undefined): Promise<SServer> {
  const args = [
    's_server',
    '-accept',
    `127.0.0.1:${port}`,
    '-cert',
    cert,
    '-key',
    key,
    '-CAfile',
    caFile,
    '-Verify',
    '5',
    '-verify_quiet',
    '-www',
    '-quiet',
  ];
  const [cmd, argv] = cpu === undefined ? ['openssl', args] : pinnedCommand(cpu, 'openssl', args);
  // Nothing read from it: without -verify_quiet it prints the chain of every client, and writing that to a pipe costs it CPU.
  const child = track(spawn(cmd, argv, { stdio: 'ignore' }), 'openssl s_server');
  for (let waited = 0; !listening(port); waited += 20) {
    if (child.exitCode !== null) throw new Error(`openssl s_server exited with ${child.exitCode}`);
    if (waited > 10_000) throw new Error(`openssl s_server is not listening on ${port}`);
    await sleep(20);
  }
  return { pid: child.pid!, child, command: `openssl ${args.join(' ')}`, stop: () => stopChild(child, 5_000) };
}
