import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLauncher } from '../../scripts/build.js';
import { repoRoot } from '../src/spawn-hub.js';

/**
 * The launcher of the compiled hub and certificate service (scripts/code-cache.ts): it runs a
 * CommonJS bundle as Node's loader would, writes V8's code cache beside it, keeps a cache V8
 * accepts, and replaces one V8 refuses (a corrupt or foreign file) without failing the start.
 */
describe('the code-cache launcher', () => {
  let dir: string;
  const cache = () => join(dir, 'app.cjs.v8-cache');
  const run = () => {
    const r = spawnSync(process.execPath, [join(dir, 'app.js'), 'an-argument'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  beforeAll(async () => {
    // Inside the repository, so that `require` from the bundle finds node_modules as the hub's does.
    await mkdir(join(repoRoot, 'test', 'output'), { recursive: true });
    dir = await mkdtemp(join(repoRoot, 'test', 'output', 'code-cache-'));
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    await writeFile(
      join(dir, 'app.cjs'),
      [
        "const { join } = require('node:path');",
        'exports.answer = 42;',
        'process.stdout.write(JSON.stringify({ filename: __filename, dirname: __dirname, joined: join(__dirname, "x"),',
        '  sameExports: module.exports === exports && this === exports, answer: module.exports.answer, argv: process.argv.slice(2),',
        "  required: typeof require('pino') }));",
      ].join('\n'),
    );
    await buildLauncher(join(dir, 'app.js'), 'app.cjs');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the bundle as CommonJS (require resolving from the bundle) and writes the cache on the first start', async () => {
    await expect(stat(cache())).rejects.toThrow();
    expect(run()).toEqual({
      filename: join(dir, 'app.cjs'),
      dirname: dir,
      joined: join(dir, 'x'),
      sameExports: true,
      answer: 42,
      argv: ['an-argument'],
      required: 'function',
    });
    expect((await stat(cache())).size).toBeGreaterThan(0);
  });

  it('keeps a cache V8 accepts', async () => {
    const before = await readFile(cache());
    const mtime = (await stat(cache())).mtimeMs;
    expect(run()['answer']).toBe(42);
    expect((await stat(cache())).mtimeMs).toBe(mtime);
    expect(await readFile(cache())).toEqual(before);
  });

  it('starts from source when the cache is corrupt, and replaces it', async () => {
    await writeFile(cache(), Buffer.from('not a V8 code cache'));
    expect(run()['answer']).toBe(42);
    const replaced = await readFile(cache());
    expect(replaced.toString('latin1')).not.toContain('not a V8 code cache');
    expect(replaced.length).toBeGreaterThan(0);
  });

  it('writes no cache at the exit of a run that never started: an error exit, or one the bundle marks', async () => {
    for (const [name, body] of [
      ['failing', 'process.exitCode = 2;'],
      ['help', "globalThis[Symbol.for('edgehub.codeCache.skip')] = true; process.stdout.write('usage');"],
    ] as const) {
      await writeFile(join(dir, `${name}.cjs`), body);
      await buildLauncher(join(dir, `${name}.js`), `${name}.cjs`);
      const r = spawnSync(process.execPath, [join(dir, `${name}.js`)], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(name === 'failing' ? 2 : 0);
      await expect(stat(join(dir, `${name}.cjs.v8-cache`))).rejects.toThrow();
    }
  });
});
