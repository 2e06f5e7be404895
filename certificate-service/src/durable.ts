import { constants } from 'node:fs';
import { chmod, open, stat } from 'node:fs/promises';

/** Writes a new file and syncs it before returning; `mode` is applied regardless of the umask. */
export async function writeDurable(path: string, data: string, mode: number): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(path, mode);
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
