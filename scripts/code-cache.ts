/**
 * The launcher of a compiled entry point (scripts/build.ts writes one per entry of the hub and the
 * certificate service: hub/dist/bin/hub.js runs hub/dist/bin/hub.cjs): it runs the bundle with V8's
 * code cache, so a restart skips parsing and compiling what the previous start compiled
 * (docs/BENCHMARKS.md, "Start-up"). Node 20 has no compile cache for modules of its own
 * (`module.enableCompileCache` arrived in 22.1), so this does what Node's CommonJS loader does for
 * one file, through `vm.Script` and its `cachedData`.
 *
 * The cache is `<bundle>.v8-cache` beside the bundle. It is written (atomically: a temporary file,
 * then a rename) when there was none or V8 refused it (another build, another Node): a few seconds
 * after the start, when the start-up code is compiled, or at exit if that comes first. Not at an
 * exit that ends a run which never started: a non-zero exit code (a configuration error, a taken
 * port), or a run the bundle marked with `Symbol.for('edgehub.codeCache.skip')` on `globalThis`
 * (`--help`, `--version`: hub/src/main.ts). Such a run compiles little beyond the top
 * level, and its cache would stand, weaker, until the next build. V8 checks
 * the cache against the source and its own version and flags, and compiles from source when they
 * do not match. A folder the process may not write (a read-only image) only means no cache.
 *
 * A script run this way cannot `import()` (on Node 20 a script restored from the cache loses its
 * dynamic-import hook): scripts/build.ts refuses a bundle that would, so packages loaded on first
 * use are loaded with `require` (hub/src/api/lazy-docs.ts, hub/src/api/lazy-validators.ts).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/** The bundle's file name, beside this launcher (set by scripts/build.ts). */
declare const EDGEHUB_BUNDLE: string;

const file = join(dirname(fileURLToPath(import.meta.url)), EDGEHUB_BUNDLE);
const cacheFile = `${file}.v8-cache`;
/** When the start-up code has been compiled, usually: the cache then holds it, not only the top level. */
const writeAfterMs = 5_000;

let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined; // first start after a build
}
const source = readFileSync(file, 'utf8');
// The CommonJS wrapper, as Node's loader applies it.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: file,
  ...(cachedData ? { cachedData } : {}),
});

if (cachedData === undefined || script.cachedDataRejected === true) {
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      // Not writable here: every start compiles from source, as without this launcher.
    }
  };
  setTimeout(write, writeAfterMs).unref();
  process.once('exit', (code) => {
    if (code === 0 && (globalThis as Record<symbol, unknown>)[Symbol.for('edgehub.codeCache.skip')] !== true) write();
  });
}

type CommonJsWrapper = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;
const run = script.runInThisContext() as CommonJsWrapper;
const module = { exports: {}, id: basename(file), filename: file };
run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
