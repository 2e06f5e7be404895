/**
 * The one way this project writes a file that holds a secret or a private key (docs/ARCHITECTURE.md,
 * "Secrets on disk"): the hub's bootstrap credentials, the CLI's profiles, the MQTT server's TLS
 * key, the edge's device key and registration cache, the certificate service's CA keys.
 *
 * Every write is atomic and durable:
 *   1. a temporary file beside the target, created exclusively with the final mode (never readable
 *      by others, not even for an instant) and chmod'ed again (the umask may have narrowed it);
 *   2. the content written and fsync'ed;
 *   3. renamed over the target (or, `exclusive`, hard-linked to it, which fails if it exists);
 *   4. the directory fsync'ed, so the rename itself survives a power loss.
 * A crash at any point leaves the old file or the new one, never a half-written or empty one,
 * and at worst a stray `.name.*.tmp` file that nothing reads.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Mode of every secret file: read and write for the owner only. */
export const SECRET_FILE_MODE = 0o600;
/** Mode of a directory created for secret files. */
export const SECRET_DIR_MODE = 0o700;

export interface AtomicWriteOptions {
  /** The file's permission bits, applied whatever the umask. */
  mode: number;
  /** Refuse (EEXIST) instead of replacing an existing file: for keys that must never be overwritten. */
  exclusive?: boolean;
}

/** Writes a secret atomically and durably, mode 0600; creates a missing directory 0700. */
export async function writeSecretFile(path: string, content: string | Uint8Array, options: { exclusive?: boolean } = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: SECRET_DIR_MODE });
  await writeFileAtomically(path, content, { mode: SECRET_FILE_MODE, ...options });
}

/**
 * The same atomic, durable write with any mode: for the public companions of a secret (a
 * certificate beside its key) that must be replaced with the same guarantees.
 */
export async function writeFileAtomically(path: string, content: string | Uint8Array, options: AtomicWriteOptions): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'wx', options.mode);
  try {
    try {
      await file.chmod(options.mode);
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    if (options.exclusive) await link(temp, path);
    else await rename(temp, path);
  } finally {
    // After a rename the temporary name is gone already; after a link (or a failure) it is removed.
    await rm(temp, { force: true });
  }
  await syncDirectory(dir);
}

/** Makes a directory's entries (a rename, a new file) durable. Where a directory cannot be opened for fsync (Windows), the rename is all there is. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch (err) {
    // EINVAL/EISDIR: this platform does not sync directories; anything else is a real I/O error.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    await handle.close();
  }
}
