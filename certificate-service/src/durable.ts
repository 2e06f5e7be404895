import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { writeFileAtomically } from '@edgehub/shared/secret-file';

/**
 * Writes a new file (never replacing one) atomically and fsync'd, through the shared secret-file
 * writer; `mode` is applied regardless of the umask (docs/ARCHITECTURE.md, "Secrets on disk").
 */
export async function writeDurable(path: string, data: string, mode: number): Promise<void> {
  await writeFileAtomically(path, data, { mode, exclusive: true });
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** True when group or others can read the file: a private key must not be (ssh refuses such keys too). */
export async function readableByOthers(path: string): Promise<boolean> {
  return ((await stat(path)).mode & 0o077) !== 0;
}
