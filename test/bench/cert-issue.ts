/**
 * Certificate issuance worker of the `cert` group: one child process (pinned to one CPU by the
 * orchestrator) that issues certificates from pre-generated CSRs through
 * `CertificateService.issue`, in-process, and prints one JSON line.
 *
 *   node --import tsx test/bench/cert-issue.ts <job.json>
 *
 * Each run opens a fresh service (a fresh JSON-lines store, fdatasync'd on every commit) over the
 * same CA files, warms up on CSRs of its own, then issues the measured CSRs with `concurrency`
 * requests in flight. Also times the raw signature (node:crypto `sign` with the issuing CA's own
 * key object, what `issue` signs with) to show how much of an issuance is the signature.
 *
 * Profiling: with `profileDir` in the job (BENCH_PROFILE=<dir> on `npm run bench -- cert`) every
 * measured run is CPU-profiled (node:inspector, the same sampler as `node --cpu-prof`), written to
 * `<dir>/round-<n>/issue-<CA>-<in flight>.cpuprofile` and summarized as self time per certificate by file
 * and by function. A profiled run is slower than an unprofiled one: read its shares, not its rate.
 */
import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openCertificateService, type IssueAuthority, type OperatorCaFiles } from '../../certificate-service/src/index.js';
import { startProfile } from './ios-profile.js';
import { summarize, type LatencySummary } from './stats.js';

export interface IssueRunSpec {
  authority: IssueAuthority;
  concurrency: number;
}

export interface IssueJob {
  caFiles: OperatorCaFiles;
  /** Where each run's fresh store directory is made (and removed). */
  workDir: string;
  warmupCsrs: string[];
  csrs: string[];
  runs: IssueRunSpec[];
  deadlineMs: number;
  /** Set: profile every measured run into this directory (see the header). */
  profileDir?: string;
}

export interface IssueRun extends IssueRunSpec {
  issued: number;
  seconds: number;
  certsPerSec: number;
  /** CPU of this process over the run (all threads: the store's writes and syncs run on libuv's pool), seconds. */
  cpuUser: number;
  cpuSystem: number;
  /** Per `issue` call, ms. */
  latency: LatencySummary;
  /** The first certificate of the run (PEM), for the orchestrator's sanity check. */
  samplePem: string;
  /** With `profileDir`: the profile's file and its summary (self time per certificate). */
  profile?: { path: string; text: string };
}

export interface IssueResult {
  runs: IssueRun[];
  /** Raw signatures per second with each issuing CA's key, one at a time (node:crypto, SHA-256, a 500-byte message). */
  rawSignPerSec: Record<IssueAuthority, number>;
}

const BINDING = { orgId: 'bench-org', productKey: 'bench-product', assetId: 'bench-asset' };

async function issueRun(job: IssueJob, spec: IssueRunSpec, warmup: string[], csrs: string[]): Promise<IssueRun> {
  const dataDir = await mkdtemp(join(job.workDir, `store-${spec.authority}-${spec.concurrency}-`));
  const service = await openCertificateService({ dataDir, files: job.caFiles });
  try {
    const issue = (csrPem: string, i: number) =>
      service.issue({ csrPem, issueAuthority: spec.authority, validDay: 30, binding: { ...BINDING, deviceKey: `dev-${i}` } });
    // Warm-up on CSRs of their own (every CN may be issued once): JIT, key import, store file.
    for (const [i, csr] of warmup.entries()) await issue(csr, -1 - i);
    const latencies: number[] = [];
    let samplePem = '';
    let next = 0;
    const profiler = job.profileDir === undefined ? undefined : await startProfile();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const worker = async () => {
      while (next < csrs.length) {
        const i = next++;
        const t = performance.now();
        const r = await issue(csrs[i]!, i);
        latencies.push(performance.now() - t);
        if (i === 0) samplePem = r.certificate.certPem;
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const profile = profiler
      ? await profiler.stop(join(job.profileDir!, `issue-${spec.authority}-${spec.concurrency}.cpuprofile`), latencies.length)
      : undefined;
    return {
      ...spec,
      issued: latencies.length,
      seconds,
      certsPerSec: latencies.length / seconds,
      cpuUser: cpu.user / 1e6,
      cpuSystem: cpu.system / 1e6,
      latency: summarize(latencies),
      samplePem,
      ...(profile ? { profile: { path: profile.path, text: profile.text.replaceAll('per command', 'per certificate') } } : {}),
    };
  } finally {
    await service.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** node:crypto `sign` with the issuing CA's key for about `ms` (after a short warm-up), one at a time. */
async function rawSignRate(job: IssueJob, authority: IssueAuthority, ms: number): Promise<number> {
  const dataDir = await mkdtemp(join(job.workDir, 'raw-'));
  const service = await openCertificateService({ dataDir, files: job.caFiles });
  try {
    const issuer = service.authority.issuers[authority];
    const message = Buffer.alloc(500, 7);
    for (let i = 0; i < 20; i++) sign('sha256', message, issuer.privateKey);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      sign('sha256', message, issuer.privateKey);
      n++;
    }
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await service.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: cert-issue.ts <job.json>');
  const job = JSON.parse(readFileSync(path, 'utf8')) as IssueJob;
  setTimeout(() => {
    process.stderr.write(`cert-issue: deadline of ${job.deadlineMs} ms reached\n`);
    process.exit(4);
  }, job.deadlineMs).unref();
  // Read once, before anything is timed.
  const warmup = await Promise.all(job.warmupCsrs.map((f) => readFile(f, 'utf8')));
  const csrs = await Promise.all(job.csrs.map((f) => readFile(f, 'utf8')));
  const runs: IssueRun[] = [];
  for (const spec of job.runs) runs.push(await issueRun(job, spec, warmup, csrs));
  const rawSignPerSec = { ECC: await rawSignRate(job, 'ECC', 400), RSA: await rawSignRate(job, 'RSA', 400) };
  const result: IssueResult = { runs, rawSignPerSec };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

process.stdin.on('end', () => process.exit(3));
process.stdin.resume();

main().catch((err: unknown) => {
  process.stderr.write(`cert-issue: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
