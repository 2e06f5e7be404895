import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { CertificateError } from '../errors.js';

/**
 * An exclusive lock on the embedded store's directory: `certificates.lock` holding `pid@host`.
 * Two processes appending to one log would each replay only their own view: a certificate revoked
 * by one would still be accepted by the other, and their CRLs would disagree (docs/SECURITY.md
 * "Certificates"). The second process refuses to start (`store.locked`) and names the holder.
 *
 * A lock left by a process that died without releasing it is taken over when its pid is on this
 * host and no longer runs. A lock held from another host (a data directory on shared storage) is
 * never guessed at: the operator removes it after checking that host.
 */
export interface StoreLock {
  path: string;
  release(): Promise<void>;
}

export const LOCK_FILE = 'certificates.lock';

export async function acquireStoreLock(path: string): Promise<StoreLock> {
  const mine = `${process.pid}@${hostname()}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await create(path, mine)) return { path, release: () => release(path, mine) };
    const holder = await readHolder(path);
    if (holder === undefined) continue; // released meanwhile: try again
    const [pidText, ...hostParts] = holder.split('@');
    const pid = Number(pidText);
    const host = hostParts.join('@');
    if (host === hostname() && Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !running(pid)) {
      await takeOverStale(path, holder);
      continue;
    }
    throw new CertificateError(
      'store.locked',
      `the certificate store is in use by process ${pidText} on ${host || 'an unknown host'} (${path}): stop that process first; if it is gone, delete the lock file`,
    );
  }
  throw new CertificateError('store.locked', `could not take the certificate store lock ${path}: it keeps changing hands`);
}

async function create(path: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(content + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

async function readHolder(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Moves the stale lock aside and removes it. If another process took it over first, what we moved
 * is that process's fresh lock: it is put back (link fails if a third one already holds the path).
 */
async function takeOverStale(path: string, staleHolder: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await readHolder(aside);
  if (moved !== undefined && moved !== staleHolder) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

async function release(path: string, mine: string): Promise<void> {
  if ((await readHolder(path)) === mine) await unlink(path).catch(() => undefined);
}
