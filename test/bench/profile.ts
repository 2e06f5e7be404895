/**
 * Profile summaries of the connect storm and the REST device GET (docs/BENCHMARKS.md, "CONNECT and
 * device GET: where the time goes"). With `BENCH_PROFILE=<dir>` the spawned hub is sampled through
 * its inspector (test/bench/mqtt-profile.ts) and the in-process hub of the REST group through
 * node:inspector; the bench prints self time and the total time of the hub's own functions inside
 * each measured window. The `.cpuprofile` files stay in `<dir>` for Chrome DevTools or speedscope.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join, relative } from 'node:path';
import { repoRoot } from '../src/index.js';

/** The directory profiles go to, or undefined when profiling is off. */
export function profileDir(): string | undefined {
  const dir = process.env['BENCH_PROFILE'];
  return dir ? dir : undefined;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Sampled time inside the window, ms (idle included). */
  totalMs: number;
  /** Time the thread was busy (not `(idle)`), ms. */
  busyMs: number;
  functions: SelfTime[];
  files: SelfTime[];
  /**
   * Total (inclusive) time of the project's own functions (hub/, shared/): a sample counts for
   * every such function on its stack, once. Shows which step of the request a cost belongs to.
   */
  own: SelfTime[];
}

function isCpuProfile(x: unknown): x is CpuProfile {
  const p = x as Partial<CpuProfile> | null;
  return !!p && Array.isArray(p.nodes) && Array.isArray(p.samples) && Array.isArray(p.timeDeltas) && typeof p.startTime === 'number';
}

/** Reads a `.cpuprofile` file. */
export function readProfile(path: string): CpuProfile {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!isCpuProfile(parsed)) throw new Error(`${path} is not a V8 CPU profile`);
  return parsed;
}

const where = (url: string): string => {
  if (!url) return '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const rel = relative(repoRoot, path);
  return rel.startsWith('..') ? path : rel.replace(/^node_modules\//, '');
};

/**
 * Self time per function and per file, over the samples taken between `fromUs` and `toUs`. V8 stamps
 * samples with CLOCK_MONOTONIC in µs, the clock of `process.hrtime`, so a window measured by another
 * process on the same machine (the load generator) selects the right samples.
 */
export function summarizeProfile(profile: CpuProfile, window?: { fromUs: number; toUs: number }, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (node: ProfileNode): string => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || '(anonymous)'} ${where(url)}${url ? `:${lineNumber + 1}` : ''}`;
  };
  const ownFile = (url: string) => /^(hub|shared)\//.test(where(url));
  const own = new Map<string, number>();
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let t = profile.startTime;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    // A sample stands for the interval up to the next one.
    const us = profile.timeDeltas[i + 1] ?? delta;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const loc = where(url);
    const name = `${functionName || '(anonymous)'} ${loc}${url ? `:${lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    file.set(loc, (file.get(loc) ?? 0) + us);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id);
      if (!frame || !ownFile(frame.callFrame.url)) continue;
      const own1 = label(frame);
      if (seen.has(own1)) continue;
      seen.add(own1);
      own.set(own1, (own.get(own1) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  return { totalMs: total / 1000, busyMs: busy / 1000, functions: rank(fn), files: rank(file), own: rank(own) };
}

/** The summary as text: per-unit costs when `units` (connects, requests) is given. */
export function formatSummary(title: string, s: ProfileSummary, units?: { count: number; name: string }): string {
  const per = (ms: number) => (units ? ` ${((ms * 1000) / units.count).toFixed(1)} µs/${units.name}` : '');
  const line = (x: SelfTime) => `  ${(x.share * 100).toFixed(1).padStart(5)}% ${x.ms.toFixed(1).padStart(8)} ms${per(x.ms)}  ${x.name}`;
  return [
    `${title}: ${s.busyMs.toFixed(0)} ms busy of ${s.totalMs.toFixed(0)} ms sampled${per(s.busyMs)}`,
    ' top self time by function:',
    ...s.functions.map(line),
    ' by file:',
    ...s.files.map(line),
    ' total time of hub/ and shared/ functions (callees included):',
    ...s.own.map(line),
  ].join('\n');
}

/** Profiles this very process (the REST group's in-process hub and its client) until `stop` is called. */
export async function startInProcessProfile(): Promise<{ stop(dir: string, name: string): Promise<CpuProfile> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop(dir, name) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
      if (!isCpuProfile(profile)) throw new Error('the inspector returned no CPU profile');
      return profile;
    },
  };
}
