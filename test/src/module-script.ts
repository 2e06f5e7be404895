import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { repoRoot } from './spawn-hub.js';

/**
 * Runs `script`, an ES module in TypeScript whose imports are relative to the repository's root,
 * in a fresh Node process and waits for it (at most 30 s): for what a test must see from outside
 * its own process, such as another writer of a shared store or the modules a fresh process loads.
 */
export function runModuleScript(script: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 30_000,
  });
}
