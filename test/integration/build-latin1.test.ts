import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latin1Comments } from '../../scripts/build.js';
import { repoRoot } from '../src/spawn-hub.js';

const beyondLatin1 = (text: string) => [...text].filter((c) => c.charCodeAt(0) > 0xff).length;

/**
 * The compiled servers' sources are held by V8 one byte per character only when every character
 * is Latin-1 (scripts/build.ts, `latin1Comments`): one character beyond it anywhere, even in a
 * comment, doubles the heap the source takes.
 */
describe('bundles held one byte per character', () => {
  let dir: string;
  beforeAll(async () => {
    await mkdir(join(repoRoot, 'test', 'output'), { recursive: true });
    dir = await mkdtemp(join(repoRoot, 'test', 'output', 'latin1-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the hub and certificate-service bundles the tests run have no character beyond Latin-1', async () => {
    for (const file of ['hub/dist/bin/hub.cjs', 'certificate-service/dist/bin/certificate-service.cjs']) {
      const text = await readFile(join(repoRoot, file), 'utf8');
      expect(text.length, file).toBeGreaterThan(1_000_000);
      expect(beyondLatin1(text), file).toBe(0);
    }
  });

  it('replaces characters beyond Latin-1 in comments one code unit for one, keeping every line and column', async () => {
    const file = join(dir, 'comments.js');
    const source = [
      '// a range 64–71 — and an arrow →',
      '/** the element’s attribute, a smile 😀 */',
      "const s = 'caf\\u00e9 \\u2014 plain'; // é and ü are Latin-1 and stay",
      'module.exports = s;',
      '',
    ].join('\n');
    await writeFile(file, source);
    expect(await latin1Comments(file)).toBe(true);
    const out = await readFile(file, 'utf8');
    expect(beyondLatin1(out)).toBe(0);
    expect(out.length).toBe(source.length);
    expect(out.split('\n').map((l) => l.length)).toEqual(source.split('\n').map((l) => l.length));
    expect(out).toContain('// a range 64?71 ? and an arrow ?');
    expect(out).toContain('a smile ?? */');
    expect(out).toContain('é and ü are Latin-1 and stay');
    // The code is what it was.
    const run = (code: string) => {
      const module = { exports: '' };
      runInNewContext(code, { module });
      return module.exports;
    };
    expect(run(out)).toBe(run(source));
  });

  it('refuses a character beyond Latin-1 in the code itself, and leaves the file as it was', async () => {
    const file = join(dir, 'literal.js');
    const source = "// fine — here\nmodule.exports = 'not — here';\n";
    await writeFile(file, source);
    await expect(latin1Comments(file)).rejects.toThrow(/outside Latin-1 outside its comments/);
    expect(await readFile(file, 'utf8')).toBe(source);
  });

  it('leaves a Latin-1 file untouched', async () => {
    const file = join(dir, 'plain.js');
    const source = '// café\nmodule.exports = 1;\n';
    await writeFile(file, source);
    expect(await latin1Comments(file)).toBe(false);
    expect(await readFile(file, 'utf8')).toBe(source);
  });
});
