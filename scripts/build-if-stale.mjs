// @ts-check
/**
 * Runs before `npm start`, `npm run edge`, the demo, the cluster and the CLI (root package.json,
 * `pre…` scripts): compiles the packages' dist/ folders (scripts/build.ts) when a source is newer than the last build,
 * and the console (console/scripts/build-if-stale.ts) when one of its sources is newer than its
 * last build. When nothing changed it only compares modification times, with bare `node`.
 *
 * Plain JavaScript on purpose: it runs before anything is compiled, on every start, and loading
 * the TypeScript loader alone would cost more than the whole check (docs/BENCHMARKS.md, start-up).
 * `--force` rebuilds both.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const force = process.argv.includes('--force');

/** What the dist/ folders are compiled from. */
const distInputs = [
  'shared/src',
  'certificate-service/src',
  'hub/src',
  'edge/src',
  'simulators/src',
  'scripts/build.ts',
  'package-lock.json',
];
/** What the console is built from: the list in console/scripts/build-if-stale.ts (keep the two alike). */
const consoleInputs = ['src', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json', '../hub/src/cli/csv.ts'].map((p) =>
  join('console', p),
);
const skip = new Set(['node_modules', 'dist']);

/** @param {string} path @returns {number} the newest modification time under `path` (0 if missing) */
function newest(path) {
  let s;
  try {
    s = statSync(path);
  } catch {
    return 0;
  }
  if (!s.isDirectory()) return s.mtimeMs;
  let m = s.mtimeMs;
  for (const name of readdirSync(path)) if (!skip.has(name)) m = Math.max(m, newest(join(path, name)));
  return m;
}

/** @param {string} stamp @param {string[]} inputs */
function stale(stamp, inputs) {
  if (force) return true;
  let built;
  try {
    built = statSync(join(root, stamp)).mtimeMs;
  } catch {
    return true;
  }
  return inputs.some((p) => newest(join(root, p)) > built);
}

/** @param {string[]} args */
function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** What scripts/build.ts writes: a missing one (deleted by hand) means a build too. */
const distOutputs = ['hub', 'certificate-service', 'edge', 'simulators'].map((p) => join(p, 'dist', 'bin'));
const missing = (/** @type {string[]} */ paths) => paths.some((p) => newest(join(root, p)) === 0);

if (missing(distOutputs) || stale('node_modules/.edgehub-build-stamp', distInputs)) run(['--import', 'tsx', 'scripts/build.ts']);
if (stale('console/dist/.build-stamp', consoleInputs))
  run(['--import', 'tsx', 'console/scripts/build-if-stale.ts', ...(force ? ['--force'] : [])]);
