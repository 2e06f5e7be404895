/**
 * What sets the latency tail of the `cluster` group (docs/BENCHMARKS.md, "Cluster and application
 * stream"), measured beside each latency run:
 *  - from the ingesting node's own /metrics, read before and after the run: how long its telemetry
 *    appends took to become durable (`edgehub_telemetry_append_seconds`, one per group of posts),
 *    its garbage-collection pauses (`edgehub_nodejs_gc_duration_seconds`) and the largest event-loop
 *    delay (`edgehub_nodejs_eventloop_lag_max_seconds`, reset by each read);
 *  - the disk's own floor, measured by this process on the file system of the hub's store: the
 *    round trip of a commit-like step (write 4 KiB + fdatasync, then write 4 KiB + fdatasync again,
 *    as an LMDB commit syncs its data pages and then its meta page), with nothing else in it.
 */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summarize, type LatencySummary } from './stats.js';

/** One histogram of a Prometheus text exposition: cumulative counts per upper bound, plus sum and count. */
interface PromHistogram {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

function histogram(text: string, name: string): PromHistogram {
  const h: PromHistogram = { buckets: new Map(), sum: 0, count: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${name}_bucket`)) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      // Summed over other labels (the GC histogram has one series per kind of collection).
      h.buckets.set(bound, (h.buckets.get(bound) ?? 0) + value);
    } else if (line.startsWith(`${name}_sum`)) h.sum += value;
    else if (line.startsWith(`${name}_count`)) h.count += value;
  }
  return h;
}

function delta(after: PromHistogram, before: PromHistogram): PromHistogram {
  const buckets = new Map<number, number>();
  for (const [le, n] of after.buckets) buckets.set(le, n - (before.buckets.get(le) ?? 0));
  return { buckets, sum: after.sum - before.sum, count: after.count - before.count };
}

/** The smallest bucket bound holding at least the p-th percentile of the observations (an upper bound of it). */
function bucketPercentile(h: PromHistogram, p: number): number {
  const target = (p / 100) * h.count;
  for (const [le, n] of [...h.buckets].sort((a, b) => a[0] - b[0])) if (n >= target) return le;
  return Infinity;
}

/** Observations above `seconds` (a bucket bound). */
function above(h: PromHistogram, seconds: number): number {
  return h.count - (h.buckets.get(seconds) ?? 0);
}

export interface HubTail {
  /** Grouped appends during the run and how many posts' worth of time they took. */
  appends: number;
  appendMeanMs: number;
  /** Upper bounds (bucket edges) of the p50 / p99 append time, ms. */
  appendP50Ms: number;
  appendP99Ms: number;
  /** Appends that took longer than 5 ms / 10 ms. */
  appendsOver5Ms: number;
  appendsOver10Ms: number;
  gcPauses: number;
  gcTotalMs: number;
  /** GC pauses longer than 5 ms / 10 ms. */
  gcOver5Ms: number;
  gcOver10Ms: number;
  /** The longest event-loop delay over the run, ms. */
  loopLagMaxMs: number;
}

export interface HubMetricsText {
  text: string;
}

export async function readHubMetrics(baseUrl: string): Promise<HubMetricsText> {
  return { text: await (await fetch(`${baseUrl}/metrics`)).text() };
}

export function hubTail(before: HubMetricsText, after: HubMetricsText): HubTail {
  const append = delta(
    histogram(after.text, 'edgehub_telemetry_append_seconds'),
    histogram(before.text, 'edgehub_telemetry_append_seconds'),
  );
  const gc = delta(
    histogram(after.text, 'edgehub_nodejs_gc_duration_seconds'),
    histogram(before.text, 'edgehub_nodejs_gc_duration_seconds'),
  );
  const lag = /^edgehub_nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)/m.exec(after.text)?.[1];
  return {
    appends: append.count,
    appendMeanMs: append.count > 0 ? (1000 * append.sum) / append.count : NaN,
    appendP50Ms: 1000 * bucketPercentile(append, 50),
    appendP99Ms: 1000 * bucketPercentile(append, 99),
    appendsOver5Ms: above(append, 0.005),
    appendsOver10Ms: above(append, 0.01),
    gcPauses: gc.count,
    gcTotalMs: 1000 * gc.sum,
    gcOver5Ms: above(gc, 0.005),
    gcOver10Ms: above(gc, 0.01),
    loopLagMaxMs: 1000 * Number(lag ?? NaN),
  };
}

/**
 * The disk's commit floor on `dir`'s file system: `steps` commit-like steps one after another
 * (write 4 KiB + fdatasync, twice), each timed, ms. Blocks this process while it runs.
 */
export function diskSyncLatency(dir: string, steps = 300): LatencySummary {
  const file = join(dir, 'bench-disk-sync.tmp');
  const fd = openSync(file, 'w');
  const page = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      writeSync(fd, page, 0, page.length, (i % 64) * 8192);
      fdatasyncSync(fd);
      writeSync(fd, page, 0, page.length, (i % 64) * 8192 + 4096);
      fdatasyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return summarize(times);
}
