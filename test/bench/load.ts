import { performance } from 'node:perf_hooks';
import { summarize, type LatencySummary } from './stats.js';

export interface LoadResult {
  requests: number;
  concurrency: number;
  elapsedMs: number;
  reqPerSec: number;
  /** Per-request latency in milliseconds, measured around the whole client call. */
  latency: LatencySummary;
  /** The raw latencies, so that runs of the same kind can be merged. */
  samples: number[];
  /**
   * CPU time of this whole process (client and server when both run in it) over the run, in ms:
   * on a loaded machine it moves less than the wall time, which includes waiting for a core.
   */
  cpuMs: number;
}

/**
 * Runs `requests` calls, `concurrency` at a time (1 = strictly sequential), and times each one.
 * `call(i)` must reject when the answer is wrong, so a failing server cannot look fast.
 * Bounded: exactly `requests` calls, then it stops.
 */
export async function runLoad(call: (i: number) => Promise<void>, opts: { requests: number; concurrency: number }): Promise<LoadResult> {
  const samples = new Array<number>(opts.requests);
  let next = 0;
  const worker = async () => {
    while (next < opts.requests) {
      const i = next++;
      const t0 = performance.now();
      await call(i);
      samples[i] = performance.now() - t0;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    requests: opts.requests,
    concurrency: opts.concurrency,
    elapsedMs,
    reqPerSec: (opts.requests / elapsedMs) * 1000,
    latency: summarize(samples),
    samples,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

/** Treats several runs of the same kind as one: all their samples, their requests over their summed time. */
export function mergeLoads(runs: readonly LoadResult[]): LoadResult {
  const first = runs[0];
  if (!first) throw new Error('nothing to merge');
  const samples = runs.flatMap((r) => r.samples);
  const elapsedMs = runs.reduce((t, r) => t + r.elapsedMs, 0);
  return {
    requests: samples.length,
    concurrency: first.concurrency,
    elapsedMs,
    reqPerSec: (samples.length / elapsedMs) * 1000,
    latency: summarize(samples),
    samples,
    cpuMs: runs.reduce((t, r) => t + r.cpuMs, 0),
  };
}
