import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The git work tree a file would be written into, if any: the nearest folder above it holding a
 * `.git` (a folder, or a file in a linked worktree). A secrets file there is one `git add .` away
 * from a commit, so the CLI warns before writing one.
 */
export function gitWorkTreeOf(path: string): string | undefined {
  let dir = dirname(resolve(path));
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
