/**
 * Compiles the runnable entry points ahead of time (docs/ARCHITECTURE.md, "Build"): esbuild bundles
 * each one, with the workspace packages (@edgehub/*) compiled in and every npm dependency left
 * external (loaded from node_modules as usual), into its package's dist/ folder (hub/dist/bin/hub.js
 * …), so that a dependency resolves from there as it does from the package's sources (npm keeps
 * some, e.g. pkijs, in the package's own node_modules). `npm start`, `npm run edge`, the demo, the
 * cluster and the CLI run the result with bare `node`: no TypeScript is compiled at start.
 *
 * Code splitting is on: modules that only some paths load (the MongoDB adapters, the Redis cluster
 * backends …) are dynamic imports in the source and become chunks of their own, read only when
 * configured.
 *
 * Every output file is exactly three folders below the repository root (<package>/dist/bin/…,
 * <package>/dist/chunks/…), like the sources that find files relative to themselves
 * (hub/src/api/console.ts, hub/src/deploy/local-cluster.ts: `new URL('../../../…', import.meta.url)`
 * is the repository root from both).
 *
 *   npm run build                  (all; scripts/build-if-stale.mjs runs it before a start when a source changed)
 *   node --import tsx scripts/build.ts hub certificate-service     (only these)
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
/**
 * Written last: its modification time is when every dist/ folder was complete
 * (scripts/build-if-stale.mjs). In node_modules, so that `npm ci` (which empties it) forces a build.
 */
export const stampFile = join(repoRoot, 'node_modules', '.edgehub-build-stamp');

/** The entry points of each package, by output name under `<package>/dist/`. */
export const packages: Record<string, Record<string, string>> = {
  hub: { 'bin/hub': 'src/main.ts', 'bin/cli': 'src/cli/main.ts', 'bin/cluster': 'src/deploy/cluster-main.ts' },
  'certificate-service': { 'bin/certificate-service': 'src/main.ts' },
  edge: { 'bin/edge': 'src/main.ts' },
  simulators: { 'bin/demo': 'src/demo/main.ts', 'bin/demo-ios': 'src/demo/ios.ts' },
};

/** npm packages stay external (node_modules is there at run time); workspace packages are compiled in. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@edgehub/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

async function buildPackage(pkg: string, entries: Record<string, string>): Promise<void> {
  const outdir = join(repoRoot, pkg, 'dist');
  await rm(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: repoRoot,
    entryPoints: Object.fromEntries(Object.entries(entries).map(([out, src]) => [out, join(repoRoot, pkg, src)])),
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    plugins: [externalPackages],
    logLevel: 'warning',
  });
}

/** Builds the named packages (all by default); the stamp is written only when all were built. */
export async function buildDist(only?: string[]): Promise<void> {
  await rm(stampFile, { force: true });
  const chosen = Object.entries(packages).filter(([pkg]) => !only || only.includes(pkg));
  await Promise.all(chosen.map(([pkg, entries]) => buildPackage(pkg, entries)));
  if (chosen.length < Object.keys(packages).length) return;
  await mkdir(dirname(stampFile), { recursive: true });
  await writeFile(stampFile, `${new Date().toISOString()}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const only = process.argv.slice(2);
  const unknown = only.filter((p) => !(p in packages));
  if (unknown.length > 0)
    throw new Error(`build: unknown package ${unknown.join(', ')}; the packages are ${Object.keys(packages).join(', ')}`);
  await buildDist(only.length > 0 ? only : undefined);
  process.stderr.write(
    `build: ${only.length > 0 ? only.join(', ') : Object.keys(packages).join(', ')} compiled into <package>/dist/ in ${Math.round(performance.now() - started)} ms\n`,
  );
}
