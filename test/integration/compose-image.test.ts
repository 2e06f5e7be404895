import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packages } from '../../scripts/build.js';
import { repoRoot } from '../src/spawn-hub.js';

/**
 * The container image runs the compiled entry points, as `npm start` does (docs/DEPLOYMENT.md, "The
 * image"). No container engine runs here, so this checks what can be checked without one: the
 * Dockerfile compiles the packages it runs (after copying what the build reads), its entry point and
 * every edgehub `command:` in docker-compose.yml name a file the build writes (the tests' global
 * setup has just built them), and nothing starts through the TypeScript loader.
 */
const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const compose = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');

/** Every file scripts/build.ts writes, relative to the repository root. */
const outputs = Object.entries(packages).flatMap(([pkg, entries]) => Object.keys(entries).map((out) => `${pkg}/dist/${out}.js`));

/** The exec-form (JSON array) argument of a Dockerfile instruction of the final stage. */
function execForm(instruction: string): string[] {
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const line = finalStage.split('\n').find((l) => l.startsWith(`${instruction} `));
  expect(line, `the final stage has an exec-form ${instruction}`).toBeDefined();
  const args = JSON.parse(line!.slice(instruction.length + 1)) as unknown;
  expect(Array.isArray(args) && args.every((a) => typeof a === 'string')).toBe(true);
  return args as string[];
}

/** The package names the Dockerfile's build step compiles (all of them when it names none). */
function compiledInImage(): string[] {
  const run = dockerfile.split('\n').find((l) => /^RUN .*scripts\/build\.ts/.test(l));
  expect(run, 'the build stage runs scripts/build.ts').toBeDefined();
  const named = run!
    .slice(run!.indexOf('scripts/build.ts') + 'scripts/build.ts'.length)
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  return named.length > 0 ? named : Object.keys(packages);
}

describe('the container image', () => {
  it('starts the compiled hub with node, not the sources through tsx', () => {
    const argv = [...execForm('ENTRYPOINT'), ...execForm('CMD')];
    expect(argv[0]).toBe('node');
    expect(argv.filter((a) => a === 'tsx' || a.endsWith('.ts'))).toEqual([]);
    expect(argv[1]).toBe('hub/dist/bin/hub.js');
    expect(outputs).toContain(argv[1]);
    expect(existsSync(join(repoRoot, argv[1]!))).toBe(true);
  });

  it('compiles every package it runs, after copying the build script and those packages', () => {
    const built = compiledInImage();
    expect(built).toEqual(expect.arrayContaining(['hub', 'certificate-service', 'edge']));
    const lines = dockerfile.split('\n');
    const buildAt = lines.findIndex((l) => /^RUN .*scripts\/build\.ts/.test(l));
    for (const dir of ['scripts', 'shared', ...built]) {
      const copyAt = lines.findIndex((l) => l === `COPY ${dir} ${dir}`);
      expect(copyAt, `COPY ${dir} ${dir}`).toBeGreaterThan(0);
      expect(copyAt).toBeLessThan(buildAt);
    }
  });

  it('names a compiled entry point in every edgehub command of docker-compose.yml', () => {
    // The image's entry point is `node`: V8 options may come first, then the script and its arguments.
    const commands = [...compose.matchAll(/^\s*command:\s*(\[.*\])\s*$/gm)].map((m) => {
      const args = JSON.parse(m[1]!) as string[];
      return args.slice(args.findIndex((a) => !a.startsWith('--')));
    });
    // Commands of the edgehub image name a file of this repository; the others (redis-server) a program.
    const ours = commands.filter((c) => c[0]?.includes('/'));
    expect(ours.length).toBeGreaterThan(0);
    const built = compiledInImage();
    for (const c of ours) {
      expect(c.filter((a) => a === 'tsx' || a.endsWith('.ts'))).toEqual([]);
      expect(outputs).toContain(c[0]);
      expect(built).toContain(c[0]!.split('/')[0]);
      expect(existsSync(join(repoRoot, c[0]!))).toBe(true);
    }
    expect(ours.map((c) => c[0])).toContain('certificate-service/dist/bin/certificate-service.js');
    expect(ours.map((c) => c[0])).toContain('hub/dist/bin/hub.js');
  });
});
