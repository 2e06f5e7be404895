/**
 * Builds the console when its sources are newer than the last build (docs/CONSOLE.md). Runs before
 * `npm start` and `npm test`, so `npm ci && npm start` serves a current console on a fresh machine;
 * when nothing changed it only compares modification times. `--force` always builds.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');
const inputs = ['src', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json', '../hub/src/cli/csv.ts'];

function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), s.mtimeMs);
}

const force = process.argv.includes('--force');
const sourceTime = Math.max(...inputs.map((p) => newest(join(root, p))));
if (!force && existsSync(stamp) && statSync(stamp).mtimeMs >= sourceTime) process.exit(0);

const { build } = await import('vite');
await build({ root, configFile: join(root, 'vite.config.ts'), logLevel: 'warn' });
writeFileSync(stamp, `${new Date().toISOString()}\n`);
console.log('console: built console/dist');
