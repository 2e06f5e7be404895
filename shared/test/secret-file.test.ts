import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomically, writeSecretFile } from '../src/files/secret-file.js';

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('writeSecretFile', () => {
  let dir: string;
  let umask: number;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secret-file-'));
    // The most permissive umask: the modes below must come from the writer, not from the process.
    umask = process.umask(0);
  });
  afterEach(async () => {
    process.umask(umask);
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the content 0600, creating a missing directory 0700, and leaves no temporary file', async () => {
    const path = join(dir, 'keys', 'admin.json');
    await writeSecretFile(path, '{"secret":"s3"}\n');
    expect(await readFile(path, 'utf8')).toBe('{"secret":"s3"}\n');
    expect(await modeOf(path)).toBe(0o600);
    expect(await modeOf(join(dir, 'keys'))).toBe(0o700);
    expect(await readdir(join(dir, 'keys'))).toEqual(['admin.json']);
  });

  it('replaces a world-readable file with a 0600 one', async () => {
    const path = join(dir, 'creds');
    await writeFile(path, 'old', { mode: 0o644 });
    await writeSecretFile(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await modeOf(path)).toBe(0o600);
  });

  it('exclusive: refuses to replace an existing key and keeps it whole', async () => {
    const path = join(dir, 'root.key');
    await writeSecretFile(path, 'first', { exclusive: true });
    await expect(writeSecretFile(path, 'second', { exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(path, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['root.key']);
  });

  it('a failed write leaves the old file as it was and no temporary file', async () => {
    const path = join(dir, 'target');
    // A directory in the way: the final rename fails after the temporary file was written.
    await writeFile(join(dir, 'keep'), 'kept', { mode: 0o600 });
    await mkdir(path);
    await writeFile(join(path, 'inside'), 'x');
    await expect(writeSecretFile(path, 'content')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['keep', 'target']);
    expect(await readFile(join(dir, 'keep'), 'utf8')).toBe('kept');
  });

  it('writeFileAtomically keeps a public companion at the mode asked for', async () => {
    const path = join(dir, 'device.crt');
    await writeFileAtomically(path, 'PEM', { mode: 0o644 });
    expect(await modeOf(path)).toBe(0o644);
  });
});
