/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`) by where the code lives: self time per npm
 * package, per workspace package, Node's own internals, V8's (garbage collection, compilation:
 * "(program)", "(garbage collector)") and idle time. Used by the start-up and edge benchmarks
 * (docs/BENCHMARKS.md) to say where the time goes.
 *
 *   node --import tsx test/bench/cpu-profile-summary.ts <file.cpuprofile> [top]
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber?: number; columnNumber?: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  where: string;
  ms: number;
}

function isProfile(v: unknown): v is Profile {
  const p = v as Partial<Profile> | null;
  return typeof p === 'object' && p !== null && Array.isArray(p.nodes) && Array.isArray(p.samples) && Array.isArray(p.timeDeltas);
}

/** Where a script URL belongs: `npm:<package>`, `edgehub:<workspace>`, `node:internal`, or V8's own names. */
export function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return `npm:${name}`;
  }
  const ws = /\/(shared|hub|edge|certificate-service|simulators|test|console)\/(src|dist|bench|test)\//.exec(path);
  if (ws) return `edgehub:${ws[1]}`;
  return path;
}

/**
 * Where a frame's code came from when its script is a bundle with a source map beside it
 * (scripts/build.ts compiles npm packages into hub/dist/bin/hub.cjs): the original file's path, so
 * that time spent in a compiled-in package is still counted under that package.
 */
function sourceMapped(): (frame: ProfileNode['callFrame']) => string {
  const maps = new Map<string, { map: SourceMap; dir: string } | null>();
  return (frame) => {
    const url = frame.url;
    if (!url || url.startsWith('node:') || frame.lineNumber === undefined || frame.columnNumber === undefined) return url;
    const path = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (!path.startsWith('/')) return url;
    let entry = maps.get(path);
    if (entry === undefined) {
      const mapFile = `${path}.map`;
      entry = existsSync(mapFile)
        ? { map: new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as never), dir: dirname(mapFile) }
        : null;
      maps.set(path, entry);
    }
    if (!entry) return url;
    const found = entry.map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string };
    return found.originalSource ? resolve(entry.dir, found.originalSource.replace(/^file:\/\//, '')) : url;
  };
}

/** Self time by place, largest first, and the profile's whole span in ms. */
export function summarizeProfile(profile: unknown): { totalMs: number; shares: ProfileShare[] } {
  if (!isProfile(profile)) throw new Error('not a V8 CPU profile');
  const original = sourceMapped();
  const place = new Map<number, string>();
  for (const n of profile.nodes) place.set(n.id, placeOf(original(n.callFrame), n.callFrame.functionName));
  const byPlace = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const where = place.get(profile.samples[i]!) ?? '?';
    byPlace.set(where, (byPlace.get(where) ?? 0) + us);
    total += us;
  }
  const shares = [...byPlace.entries()].map(([where, us]) => ({ where, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
  return { totalMs: total / 1000, shares };
}

export async function summarizeProfileFile(file: string): Promise<{ totalMs: number; shares: ProfileShare[] }> {
  return summarizeProfile(JSON.parse(await readFile(file, 'utf8')) as unknown);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: cpu-profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 25);
  const { totalMs, shares } = await summarizeProfileFile(file);
  console.log(`profile span ${totalMs.toFixed(0)} ms`);
  for (const s of shares.slice(0, top)) console.log(`${s.ms.toFixed(1).padStart(9)} ms  ${s.where}`);
}
