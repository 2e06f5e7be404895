/**
 * Compiles the runnable entry points ahead of time (docs/ARCHITECTURE.md, "Build"): esbuild bundles
 * each one, with the workspace packages (@edgehub/*) compiled in, into its package's dist/ folder
 * (hub/dist/bin/hub.js …), so that a dependency left external resolves from there as it does from
 * the package's sources (npm keeps some, e.g. pkijs, in the package's own node_modules).
 * `npm start`, `npm run edge`, the demo, the cluster and the CLI run the result with bare `node`: no
 * TypeScript is compiled at start.
 *
 * The hub and the certificate service also compile their pure-JavaScript npm dependencies in
 * (`bundleNpm` below): Node then reads, resolves and wraps one file instead of about a thousand,
 * which was the larger part of their start-up (docs/BENCHMARKS.md, "Start-up"). Left external, and
 * loaded from node_modules as usual, are the packages in `keepExternal`: native addons, packages
 * that read their own files at run time, and the drivers that only a cluster or MongoDB loads.
 * The edge, the demo and the CLI keep every npm dependency external.
 *
 * The servers (`codeCached` below: the hub, the certificate service) are one CommonJS file each, run
 * by a launcher with V8's code cache. Elsewhere code splitting is on: modules that only some paths load (the MongoDB adapters, the Redis cluster
 * backends …) are dynamic imports in the source and become chunks of their own, read only when
 * configured.
 *
 * Every output file is exactly three folders below the repository root (<package>/dist/bin/…,
 * <package>/dist/chunks/…), like the sources that find files relative to themselves
 * (hub/src/api/console.ts, hub/src/deploy/local-cluster.ts: `new URL('../../../…', import.meta.url)`
 * is the repository root from both).
 *
 * Each package writes a stamp listing what its build read (`BuildStamp`): scripts/build-if-stale.mjs
 * rebuilds a package only when one of those files changed, and only the packages a command runs.
 *
 *   npm run build                  (all; `npm ci` builds at its end, scripts/build-if-stale.mjs before a start when a source changed)
 *   node --import tsx scripts/build.ts hub certificate-service     (only these)
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform, type BuildOptions, type Metafile, type Plugin } from 'esbuild';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
/**
 * Where each package's build stamp is written (scripts/build-if-stale.mjs reads them): in
 * node_modules, so that `npm ci`, which empties it, makes the next check build everything.
 */
export const stampDir = join(repoRoot, 'node_modules', '.cache', 'edgehub-build');
/**
 * Read by every build besides the sources esbuild reports: a change to any of them rebuilds every
 * package (a dependency installed or upgraded, the compiler settings, this script, the launcher).
 */
export const sharedInputs = ['package-lock.json', 'tsconfig.json', 'scripts/build.ts', 'scripts/code-cache.ts'];

/**
 * A package's stamp, `<stampDir>/<package>.json`, written when its dist/ folder is complete: when
 * that build began (an input modified since, even during the build, makes it stale), the files it read
 * (the repository's own files, as esbuild's metafile names them, plus `sharedInputs`) and the files it
 * wrote that a command runs.
 */
export interface BuildStamp {
  startedAt: number;
  inputs: string[];
  outputs: string[];
}

/** The entry points of each package, by output name under `<package>/dist/`. */
export const packages: Record<string, Record<string, string>> = {
  hub: { 'bin/hub': 'src/main.ts', 'bin/cli': 'src/cli/main.ts', 'bin/cluster': 'src/deploy/cluster-main.ts' },
  'certificate-service': { 'bin/certificate-service': 'src/main.ts' },
  edge: { 'bin/edge': 'src/main.ts' },
  simulators: { 'bin/demo': 'src/demo/main.ts', 'bin/demo-ios': 'src/demo/ios.ts' },
};

/** The packages whose npm dependencies are compiled into their output (the rest keep them external). */
export const bundleNpm = new Set(['hub', 'certificate-service']);

/**
 * npm packages never compiled in, even where `bundleNpm` is on:
 * - native addons and the packages that load them by path (lmdb, msgpackr, cbor-x);
 * - packages that read their own files relative to their source at run time (@fastify/swagger and
 *   swagger-ui serve files from their folder; pino starts transports from a worker file of its own);
 * - what only a cluster or MongoDB loads (already chunks of their own, read only when configured),
 *   whose optional native parts esbuild cannot resolve (mongodb);
 * - @fastify/ajv-compiler, loaded from node_modules on a route's first request (hub/src/api/lazy-validators.ts).
 */
export const keepExternal = [
  'lmdb',
  'msgpackr',
  'cbor-x',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  'pino',
  'mongodb',
  'ioredis',
  'aedes-persistence-redis',
  'mqemitter-redis',
];

/** npm packages stay external (node_modules is there at run time); workspace packages are compiled in. */
const externalPackages = (bundled: boolean): Plugin => ({
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@edgehub/')) return undefined;
      if (bundled && !args.path.startsWith('node:') && !keepExternal.some((p) => args.path === p || args.path.startsWith(`${p}/`)))
        return undefined;
      return { path: args.path, external: true };
    });
  },
});

/**
 * Compiled-in CommonJS code may call `require` (a dynamic require esbuild leaves as it is, an
 * optional dependency) and read `__filename` / `__dirname`: an ES module has none of them, so the
 * output defines them, for the output file.
 */
const commonJsGlobals = [
  "import { createRequire as __edgehubCreateRequire } from 'node:module';",
  "import { fileURLToPath as __edgehubFileURLToPath } from 'node:url';",
  "import { dirname as __edgehubDirname } from 'node:path';",
  'const require = __edgehubCreateRequire(import.meta.url);',
  'const __filename = __edgehubFileURLToPath(import.meta.url);',
  'const __dirname = __edgehubDirname(__filename);',
].join(' ');

/**
 * The entry points started as servers, by `<package>/<output>`: each is compiled to one CommonJS
 * file (`bin/hub.cjs`: no chunks, the optional parts inlined and run only when configured) and gets
 * a launcher under the entry's usual name (`bin/hub.js`, from scripts/code-cache.ts) that runs it
 * with V8's code cache. CommonJS because Node 20 offers a code cache for scripts, not for ES
 * modules; `import.meta.url` in the sources becomes the bundle's own URL. (The CLI stays an ES
 * module: it awaits at its top level.)
 */
export const codeCached = new Set(['hub/bin/hub', 'certificate-service/bin/certificate-service']);
const importMetaUrl = "const __edgehubImportMetaUrl = require('node:url').pathToFileURL(__filename).href;";

async function buildPackage(pkg: string, entries: Record<string, string>): Promise<void> {
  const outdir = join(repoRoot, pkg, 'dist');
  const bundled = bundleNpm.has(pkg);
  const stamp = join(stampDir, `${pkg}.json`);
  const startedAt = Date.now();
  await rm(stamp, { force: true });
  await rm(outdir, { recursive: true, force: true });
  const points = (outs: string[]) => Object.fromEntries(outs.map((out) => [out, join(repoRoot, pkg, entries[out]!)]));
  const cached = Object.keys(entries).filter((out) => bundled && codeCached.has(`${pkg}/${out}`));
  const modules = Object.keys(entries).filter((out) => !cached.includes(out));
  const common = {
    absWorkingDir: repoRoot,
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    plugins: [externalPackages(bundled)],
    logLevel: 'warning',
    metafile: true,
  } satisfies BuildOptions;
  const builds: Promise<Metafile | undefined>[] = [];
  if (modules.length > 0)
    builds.push(
      build({
        ...common,
        entryPoints: points(modules),
        format: 'esm',
        splitting: true,
        chunkNames: 'chunks/[name]-[hash]',
        ...(bundled ? { banner: { js: commonJsGlobals } } : {}),
      }).then((r) => r.metafile),
    );
  if (cached.length > 0)
    builds.push(
      build({
        ...common,
        entryPoints: points(cached),
        format: 'cjs',
        outExtension: { '.js': '.cjs' },
        define: { 'import.meta.url': '__edgehubImportMetaUrl' },
        banner: { js: importMetaUrl },
      }).then(({ metafile }) => {
        refuseDynamicImports(metafile);
        return metafile;
      }),
    );
  for (const out of cached) builds.push(buildLauncher(join(outdir, `${out}.js`), `${basename(out)}.cjs`).then(() => undefined));
  const metafiles = await Promise.all(builds);
  const scripts = metafiles.flatMap((m) => Object.keys(m?.outputs ?? {}).filter((out) => /\.[cm]?js$/.test(out)));
  await Promise.all(scripts.map((out) => latin1Comments(join(repoRoot, out))));
  // The repository's own files only: npm packages change with package-lock.json (a shared input).
  const read = new Set(sharedInputs);
  for (const m of metafiles) for (const input of Object.keys(m?.inputs ?? {})) if (!input.includes('node_modules/')) read.add(input);
  const written: BuildStamp = { startedAt, inputs: [...read].sort(), outputs: Object.keys(entries).map((out) => `${pkg}/dist/${out}.js`) };
  await mkdir(stampDir, { recursive: true });
  await writeFile(stamp, `${JSON.stringify(written, null, 1)}\n`);
}

/** A UTF-16 code unit outside Latin-1 (a character of an astral plane is two of them). */
const beyondLatin1 = /[^\u0000-\u00ff]/g;

/**
 * V8 holds a script's source in the heap for as long as the script lives: one byte per character
 * when every character is Latin-1, two bytes otherwise. esbuild escapes every non-ASCII character
 * of the code it writes (its default charset), but copies comments as they are, so one "—" in a
 * comment of a compiled-in package doubled the heap the source of the hub's 6 MB bundle takes
 * (docs/BENCHMARKS.md, "Start-up"). Each code unit outside Latin-1 becomes a `?`, one for one, so
 * every line and column, and the source map with them, stay as they are. Only comments may change:
 * stripped of comments, the file must compile to exactly the same code as before, or the build fails.
 */
export async function latin1Comments(file: string): Promise<boolean> {
  const text = await readFile(file, 'utf8');
  const replaced = text.replace(beyondLatin1, '?');
  if (replaced === text) return false;
  const withoutComments = (code: string) =>
    transform(code, { loader: 'js', minifyWhitespace: true, legalComments: 'none', charset: 'utf8' }).then((r) => r.code);
  const [before, after] = await Promise.all([withoutComments(text), withoutComments(replaced)]);
  if (before !== after) throw new Error(`build: ${file} has a character outside Latin-1 outside its comments`);
  await writeFile(file, replaced);
  return true;
}

/**
 * A script restored from V8's code cache cannot `import()` on Node 20 (scripts/code-cache.ts): a
 * bundle that keeps one (an external package loaded with `await import(…)`) would fail only when
 * that line runs, so the build fails now instead.
 */
function refuseDynamicImports(metafile: Metafile): void {
  for (const [out, o] of Object.entries(metafile.outputs)) {
    const dynamic = o.imports.filter((i) => i.kind === 'dynamic-import' && i.external).map((i) => i.path);
    if (dynamic.length > 0)
      throw new Error(
        `build: ${out} would import() ${dynamic.join(', ')} at run time; load it with createRequire(import.meta.url) instead (scripts/code-cache.ts)`,
      );
  }
}

/** Writes the launcher (scripts/code-cache.ts) at `outfile`, for the CommonJS bundle `bundle` beside it. */
export async function buildLauncher(outfile: string, bundle: string): Promise<void> {
  await build({
    absWorkingDir: repoRoot,
    entryPoints: [join(repoRoot, 'scripts', 'code-cache.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    define: { EDGEHUB_BUNDLE: JSON.stringify(bundle) },
    logLevel: 'warning',
  });
}

/** Builds the named packages (all by default), in one esbuild service, each writing its stamp when done. */
export async function buildDist(only?: string[]): Promise<void> {
  const chosen = Object.entries(packages).filter(([pkg]) => !only || only.includes(pkg));
  await Promise.all(chosen.map(([pkg, entries]) => buildPackage(pkg, entries)));
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
