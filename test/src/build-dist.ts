import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Vitest global setup: compiles the hub and edge binaries when a source is newer than the last
 * build (scripts/build-if-stale.mjs), so that tests spawn what `npm start` and `npm run edge` run
 * (test/src/spawn-hub.ts, test/src/spawn-edge.ts), never a stale build. Nothing to do when current.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const r = spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`scripts/build-if-stale.mjs failed (exit ${r.status ?? r.signal})`);
}
