/**
 * The profiling switch of the telemetry benchmark: with BENCH_PROFILE=<dir>, a phase runs under
 * the V8 CPU profiler (node:inspector), its `.cpuprofile` is written to <dir> (open it in Chrome
 * DevTools or speedscope), and the functions with the most self time are returned for the report.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export interface ProfileLine {
  fn: string;
  selfPct: number;
}

interface CpuProfile {
  nodes: { id: number; hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
}

export async function profiled<T>(name: string, run: () => Promise<T>): Promise<{ result: T; top: ProfileLine[] }> {
  const dir = process.env['BENCH_PROFILE'];
  if (!dir) return { result: await run(), top: [] };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  let result: T;
  try {
    result = await run();
  } finally {
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `telemetry-${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
    profiledTop.set(name, summarize(profile));
  }
  return { result, top: profiledTop.get(name) ?? [] };
}

const profiledTop = new Map<string, ProfileLine[]>();

function summarize(profile: CpuProfile): ProfileLine[] {
  const self = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url.replace(/^.*\/(node_modules\/[^/]+|[^/]+\/src)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([fn, hits]) => ({ fn, selfPct: (100 * hits) / Math.max(1, total) }));
}
