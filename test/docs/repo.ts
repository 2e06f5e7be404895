/**
 * The repository as the docs consistency tests (test/docs) see it: its root, its text files, its
 * docs. Plain file reads, no servers, so that `/work/bin/land`-style checks stay fast.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const skippedDirectories = new Set(['node_modules', '.git', 'dist', 'coverage', '.cache']);
const textExtensions = ['.ts', '.mts', '.js', '.mjs', '.md', '.json', '.yml', '.yaml', '.sh'];

/** Repository-relative paths (forward slashes) of every text file, outside node_modules and outputs. */
export function textFiles(from = repoRoot): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!skippedDirectories.has(entry.name) && !entry.name.startsWith('.')) walk(join(dir, entry.name));
      } else if (entry.isFile() && textExtensions.some((ext) => entry.name.endsWith(ext))) {
        out.push(relative(repoRoot, join(dir, entry.name)).split(sep).join('/'));
      }
    }
  };
  walk(from);
  return out.sort();
}

export function readRepoFile(path: string): string {
  return readFileSync(join(repoRoot, path), 'utf8');
}
