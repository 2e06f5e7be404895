// @ts-check
/**
 * What `npm start`, `npm run edge`, `npm run demo`, `npm run cluster` and `npm run cli` run (root
 * package.json): `node scripts/run.mjs <package>/dist/bin/<name>.js [args…]` builds what that entry
 * point needs when it is stale (scripts/build-if-stale.mjs: a source edited since the install), then
 * runs it in this same process, with `process.argv` as `node <entry> [args…]` would have it.
 *
 * One node process per start: the stale check used to be a `pre…` script, a node process of its own
 * that npm started on every start before the real one (docs/BENCHMARKS.md, "Start-up").
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt, needsOf, root } from './build-if-stale.mjs';

const entry = process.argv[2];
if (entry === undefined) {
  process.stderr.write('usage: node scripts/run.mjs <package>/dist/bin/<name>.js [args…]\n');
  process.exit(2);
}
const needs = needsOf(entry);
ensureBuilt(needs.packages, { withConsole: needs.withConsole });
const file = resolve(root, entry);
process.argv.splice(1, 2, file);
await import(pathToFileURL(file).href);
