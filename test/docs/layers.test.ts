import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRepoFile, repoRoot } from './repo.js';

/**
 * The rooms of hub/src depend only downward (docs/ARCHITECTURE.md, "Layers"): a room is a folder
 * directly under hub/src (`broker/`) or a file at its top (`hub.ts`). The section's fenced block
 * lists the layers from the top down, one line each; a file may import from rooms of lower lines
 * only, never from a room of its own line or of a line above, so no two rooms can import each other
 * even through others (no cycles). Type-only imports count: a shared type lives in the lower room
 * that owns it.
 */
const hubSrc = 'hub/src';

/** Back edges that remain, `from -> to`. Only ever shrinks: remove an entry when the edge is gone. */
// Imports that point up or sideways and are still tolerated: none (the list may only shrink).
const knownBackEdges: string[] = [];

export function declaredLayers(markdown: string): string[][] {
  const section = /^## Layers\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(markdown)?.[1] ?? '';
  const block = /```[^\n]*\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.trim().split(/\s+/).filter(Boolean))
    .filter((rooms) => rooms.length > 0);
}

/** The room a path under hub/src belongs to: `broker/` for broker/x/y.ts, `hub.ts` for hub.ts. */
export function roomOf(pathUnderSrc: string): string {
  const [first, ...rest] = pathUnderSrc.split('/');
  return rest.length > 0 ? `${first}/` : first!.replace(/\.js$/, '.ts');
}

/** Relative module specifiers of a file: `import … from`, `export … from`, `import '…'`, `import('…')`. */
export function relativeImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) out.push(m[1]!);
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

interface Edge {
  from: string;
  to: string;
  file: string;
  specifier: string;
}

function roomEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(hubSrc)) {
    const inSrc = posix.relative(hubSrc, file);
    for (const specifier of relativeImports(readFileSync(join(repoRoot, file), 'utf8'))) {
      const target = posix.normalize(posix.join(posix.dirname(inSrc), specifier));
      if (target.startsWith('..')) continue; // outside hub/src: another package's path, not a room
      const from = roomOf(inSrc);
      const to = roomOf(target);
      if (from !== to) edges.push({ from, to, file, specifier });
    }
  }
  return edges;
}

describe('hub/src layers (docs/ARCHITECTURE.md, "Layers")', () => {
  const layers = declaredLayers(readRepoFile('docs/ARCHITECTURE.md'));
  const layerOf = new Map(layers.flatMap((rooms, i) => rooms.map((room) => [room, i] as const)));

  it('reads rooms and imports the way the rule describes', () => {
    expect(declaredLayers('## Layers\ntext\n```\nhub.ts\n  api/   cli/\n\nstore/\n```\n## Next\n```\nx/\n```\n')).toEqual([
      ['hub.ts'],
      ['api/', 'cli/'],
      ['store/'],
    ]);
    expect(roomOf('broker/broker.ts')).toBe('broker/');
    expect(roomOf('router/raw/raw-route.ts')).toBe('router/');
    expect(roomOf('hub.ts')).toBe('hub.ts');
    expect(roomOf('metrics.js')).toBe('metrics.ts');
    const source = [
      "import type { A } from '../a/b.js';",
      "import {\n  C,\n} from './c.js';",
      "export { D } from '../../d/e.js';",
      "import './side-effect.js';",
      "const m = await import('../lazy/m.js');",
      "import { pino } from 'pino';",
    ].join('\n');
    expect(relativeImports(source)).toEqual(['../a/b.js', './c.js', '../../d/e.js', './side-effect.js', '../lazy/m.js']);
  });

  it('places every room of hub/src in exactly one layer', () => {
    const declared = layers.flat();
    expect(declared.length).toBe(new Set(declared).size);
    const rooms = readdirSync(join(repoRoot, hubSrc), { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.name.endsWith('.ts'))
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
      .sort();
    expect([...declared].sort()).toEqual(rooms);
  });

  it('has every import between rooms point to a lower layer', () => {
    const back = roomEdges().filter((e) => (layerOf.get(e.to) ?? -1) <= (layerOf.get(e.from) ?? -1));
    const pairs = [...new Set(back.map((e) => `${e.from} -> ${e.to}`))].sort();
    const detail = back.map((e) => `${e.file}: ${e.specifier}`).join('\n');
    expect(pairs, `imports that point up or sideways:\n${detail}`).toEqual([...knownBackEdges].sort());
  });
});
