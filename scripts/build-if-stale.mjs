// @ts-check
/**
 * Builds what a command runs when it is missing or older than its sources, and nothing otherwise:
 * the packages' dist/ folders (scripts/build.ts) and the web console (console/scripts/build-if-stale.ts).
 *
 * - `npm ci` / `npm install` run it at their end (root package.json, `prepare`, with
 *   `--after-install`), so the first `npm start` after them finds a current build and only starts.
 * - scripts/run.mjs calls `ensureBuilt` before `npm start`, `npm run edge`, the demo, the cluster and
 *   the CLI, for the packages that command runs: an edit after the install is compiled then, and only
 *   the packages whose sources changed.
 * - The tests' global setup (test/src/build-dist.ts) and the benchmarks run it with no arguments.
 *
 * A package is current when its stamp (written by scripts/build.ts in node_modules/.cache/edgehub-build/,
 * which `npm ci` empties) lists outputs that all exist and inputs none of which changed after that build
 * began: the files esbuild read, not whole folders, so the check is one `stat` per source file.
 *
 * Plain JavaScript on purpose: it runs before anything is compiled, on every start, and loading the
 * TypeScript loader alone would cost more than the whole check (docs/BENCHMARKS.md, "Start-up").
 *
 *   node scripts/build-if-stale.mjs [package…]   (all packages and the console by default)
 *     --force          build them even when current
 *     --dry-run        print what is stale and why, build nothing
 *     --after-install  as `prepare`: do nothing when the sources are not there (the Dockerfile installs
 *                      the dependencies before it copies the sources, and builds after)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
/** scripts/build.ts `stampDir` (keep the two alike). */
const stampDir = join(root, 'node_modules', '.cache', 'edgehub-build');
/** scripts/build.ts `packages`. */
export const allPackages = ['hub', 'certificate-service', 'edge', 'simulators'];

/** What the console is built from: the list in console/scripts/build-if-stale.ts (keep the two alike). */
const consoleInputs = ['src', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json', '../hub/src/cli/csv.ts'].map((p) =>
  join('console', p),
);
const consoleStamp = join('console', 'dist', '.build-stamp');

/** @param {string} path @returns {number | undefined} */
function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** @param {unknown} v @returns {v is { startedAt: number, inputs: string[], outputs: string[] }} */
function isStamp(v) {
  if (typeof v !== 'object' || v === null) return false;
  const s = /** @type {Record<string, unknown>} */ (v);
  const strings = (/** @type {unknown} */ a) => Array.isArray(a) && a.every((x) => typeof x === 'string');
  return typeof s['startedAt'] === 'number' && strings(s['inputs']) && strings(s['outputs']);
}

/**
 * Why `pkg` needs a build, or undefined when its dist/ folder is current.
 * @param {string} pkg
 * @returns {string | undefined}
 */
export function whyStale(pkg) {
  let stamp;
  try {
    stamp = /** @type {unknown} */ (JSON.parse(readFileSync(join(stampDir, `${pkg}.json`), 'utf8')));
  } catch {
    return 'not built since the last install';
  }
  if (!isStamp(stamp)) return 'its build stamp is unreadable';
  for (const out of stamp.outputs) if (mtime(join(root, out)) === undefined) return `${out} is missing`;
  for (const input of stamp.inputs) {
    const m = mtime(join(root, input));
    if (m === undefined) return `${input} is gone`;
    if (m >= stamp.startedAt) return `${input} changed`;
  }
  return undefined;
}

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
  for (const name of readdirSync(path)) m = Math.max(m, newest(join(path, name)));
  return m;
}

/** @returns {boolean} whether the console is older than one of its sources (or was never built) */
export function consoleStale() {
  const built = mtime(join(root, consoleStamp));
  return built === undefined || consoleInputs.some((p) => newest(join(root, p)) > built);
}

/** @param {string[]} args */
function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/**
 * Builds, in one esbuild run, those of `packages` that are stale (all of them with `force`), then
 * the console when `withConsole` and it is stale.
 * @param {string[]} packages
 * @param {{ withConsole: boolean, force?: boolean }} options
 */
export function ensureBuilt(packages, { withConsole, force = false }) {
  const stale = packages.filter((p) => force || whyStale(p) !== undefined);
  if (stale.length > 0) run(['--import', 'tsx', 'scripts/build.ts', ...stale]);
  if (withConsole && (force || consoleStale())) run(['--import', 'tsx', 'console/scripts/build-if-stale.ts', '--force']);
}

/** The packages an entry point runs: its own, and for the cluster the certificate service it starts. */
const alsoRuns = /** @type {Record<string, string[]>} */ ({ 'hub/dist/bin/cluster.js': ['certificate-service'] });
/** The entry points that serve the web console (the hub, the cluster, the demos with their hub). */
const servingConsole = new Set([
  'hub/dist/bin/hub.js',
  'hub/dist/bin/cluster.js',
  'simulators/dist/bin/demo.js',
  'simulators/dist/bin/demo-ios.js',
]);

/**
 * What running `entry` (`<package>/dist/bin/<name>.js`) needs built.
 * @param {string} entry
 * @returns {{ packages: string[], withConsole: boolean }}
 */
export function needsOf(entry) {
  const pkg = entry.split('/')[0] ?? '';
  if (!allPackages.includes(pkg)) throw new Error(`${entry} is not a compiled entry point (<package>/dist/bin/<name>.js)`);
  return { packages: [pkg, ...(alsoRuns[entry] ?? [])], withConsole: servingConsole.has(entry) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flags = new Set(process.argv.slice(2).filter((a) => a.startsWith('--')));
  const named = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const unknown = named.filter((p) => !allPackages.includes(p));
  if (unknown.length > 0) {
    process.stderr.write(`build-if-stale: unknown package ${unknown.join(', ')}; the packages are ${allPackages.join(', ')}\n`);
    process.exit(2);
  }
  const packages = named.length > 0 ? named : allPackages;
  const withConsole = named.length === 0;
  if (flags.has('--after-install') && mtime(join(root, 'hub', 'src')) === undefined) {
    process.stdout.write('build-if-stale: no sources here yet (dependencies installed alone); nothing to build\n');
  } else if (flags.has('--dry-run')) {
    for (const p of packages) {
      const why = flags.has('--force') ? 'forced' : whyStale(p);
      if (why !== undefined) process.stdout.write(`${p}: ${why}\n`);
    }
    if (withConsole && (flags.has('--force') || consoleStale())) process.stdout.write('console: stale\n');
  } else {
    ensureBuilt(packages, { withConsole, force: flags.has('--force') });
  }
}
