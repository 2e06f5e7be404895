/**
 * A CPU profile of this thread over one benchmark round (node:inspector), written as a
 * .cpuprofile file and summarized: self time by source file and by function, per command.
 */
import { writeFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';

export interface CpuProfileSummary {
  path: string;
  /** Self time per command (µs) of the heaviest files and functions, as text. */
  text: string;
  byFile: { name: string; usPerCommand: number }[];
  byFunction: { name: string; usPerCommand: number }[];
}

const root = process.cwd();

function where(url: string): string {
  if (!url) return '(native / idle / gc)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (path.startsWith('node:')) return path;
  return relative(root, path);
}

/** Self time (µs) per node of the profile: samples × the interval between them. */
function selfTimes(p: Profiler.Profile): Map<number, number> {
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  }
  return self;
}

function top(m: Map<string, number>, commands: number, n: number): { name: string; usPerCommand: number }[] {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, usPerCommand: us / commands }));
}

export async function startProfile(): Promise<{ stop(path: string, commands: number): Promise<CpuProfileSummary> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop(path, commands) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, JSON.stringify(profile));
      const self = selfTimes(profile);
      const byFile = new Map<string, number>();
      const byFunction = new Map<string, number>();
      for (const node of profile.nodes) {
        const us = self.get(node.id) ?? 0;
        if (us === 0) continue;
        const f = node.callFrame;
        if (f.functionName === '(idle)') continue;
        const file = f.url ? where(f.url) : `(${f.functionName || 'anonymous'})`;
        byFile.set(file, (byFile.get(file) ?? 0) + us);
        const fn = `${f.functionName || '(anonymous)'} ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
        byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
      }
      const files = top(byFile, commands, 25);
      const functions = top(byFunction, commands, 30);
      const text = [
        'self time by file (µs per command):',
        ...files.map((x) => `  ${x.usPerCommand.toFixed(1).padStart(8)}  ${x.name}`),
        'self time by function (µs per command):',
        ...functions.map((x) => `  ${x.usPerCommand.toFixed(1).padStart(8)}  ${x.name}`),
      ].join('\n');
      return { path, text, byFile: files, byFunction: functions };
    },
  };
}
