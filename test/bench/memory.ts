import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface MemorySnapshot {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

// `npm run bench` runs plain `node --import tsx`, without --expose-gc; turn it on at runtime so
// "after GC" figures are live data rather than garbage not yet collected.
setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as () => void;

export function collectGarbage(): void {
  gcFn();
  gcFn();
}

export function memorySnapshot(opts: { gc: boolean }): MemorySnapshot {
  if (opts.gc) collectGarbage();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}
