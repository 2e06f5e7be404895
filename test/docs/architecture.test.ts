import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRepoFile, repoRoot } from './repo.js';

/**
 * docs/ARCHITECTURE.md's tree is where a contributor finds the room for a change: every folder
 * under a package's src/ is in it, and everything it names exists. The tree is the first fenced
 * block; an entry is a line whose first word is a path (`src/broker/`, `embedded/`, `port.ts`),
 * nested by indentation; other lines are continuations of a description.
 */
const packages = ['shared', 'hub', 'certificate-service', 'edge', 'simulators', 'test'];

export function treeEntries(markdown: string): { folders: Set<string>; files: Set<string> } {
  const block = /```[^\n]*\n([\s\S]*?)```/.exec(markdown)?.[1] ?? '';
  const folders = new Set<string>();
  const files = new Set<string>();
  const stack: { indent: number; path: string }[] = [];
  for (const line of block.split('\n')) {
    const m = /^( *)([A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*\/?)(?:,|\s|$)/.exec(line);
    if (!m) continue;
    const indent = m[1]!.length;
    const token = m[2]!;
    const isFolder = token.endsWith('/');
    const isFile = /\.(ts|md|json)$/.test(token);
    if (!isFolder && !isFile) continue;
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const parent = stack[stack.length - 1]?.path;
    const path = parent ? `${parent}/${token.replace(/\/$/, '')}` : token.replace(/\/$/, '');
    if (isFolder) {
      // Every prefix of a multi-segment entry (`src/store/` → src, src/store) is named by it.
      const parts = path.split('/');
      for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join('/'));
      stack.push({ indent, path });
    } else {
      files.add(path);
    }
  }
  return { folders, files };
}

function foldersUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'node_modules') continue;
    out.push(`${dir}/${entry.name}`, ...foldersUnder(`${dir}/${entry.name}`));
  }
  return out;
}

describe('docs/ARCHITECTURE.md tree', () => {
  const tree = treeEntries(readRepoFile('docs/ARCHITECTURE.md'));

  it('reads nesting by indentation', () => {
    const sample = treeEntries(
      '```\nhub/  x\n  src/store/  y\n    embedded/  z\n    port.ts  w\n            a wrapped description/\n  src/cli/\n```\n',
    );
    expect([...sample.folders].sort()).toEqual(['hub', 'hub/src', 'hub/src/cli', 'hub/src/store', 'hub/src/store/embedded']);
    expect([...sample.files]).toEqual(['hub/src/store/port.ts']);
  });

  it('lists every folder under */src', () => {
    const missing = packages
      .filter((p) => existsSync(join(repoRoot, p, 'src')))
      .flatMap((p) => foldersUnder(`${p}/src`))
      .filter((folder) => !tree.folders.has(folder));
    expect(missing, 'add these folders to the tree in docs/ARCHITECTURE.md').toEqual([]);
  });

  it('names only folders and files that exist', () => {
    const gone = [...tree.folders, ...tree.files].filter((path) => !existsSync(join(repoRoot, path)));
    expect(gone, 'remove or fix these entries of docs/ARCHITECTURE.md').toEqual([]);
  });
});
