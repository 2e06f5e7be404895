/**
 * Where the edge keeps its mutual-TLS credentials (docs/ENOS-PROTOCOL.md §6): the private key (0600),
 * its certificate and the CA certificate (0644), in one directory (0700). Each file is replaced
 * atomically (temporary file, fsync, rename, fsync of the directory), so a crash or power loss
 * leaves the old file or the new one, never half of one.
 */
import { randomBytes, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface DeviceCredentials {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export const credentialFiles = { cert: 'device.crt', key: 'device.key', ca: 'ca.crt' } as const;

const KEY_MODE = 0o600;
const PUBLIC_MODE = 0o644;

/**
 * Writes the three files. The CA first and the certificate last: a crash in between leaves at
 * worst a new key next to the old certificate, which loadDeviceCredentials reports as a mismatch
 * (the device applies again) instead of presenting a pair the hub would refuse.
 */
export async function storeDeviceCredentials(dir: string, c: DeviceCredentials): Promise<void> {
  for (const [name, pem] of [
    ['certPem', c.certPem],
    ['keyPem', c.keyPem],
    ['caPem', c.caPem],
  ] as const) {
    if (typeof pem !== 'string' || !pem.includes('-----BEGIN ')) throw new TypeError(`${name} must be a PEM string`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomically(dir, credentialFiles.ca, c.caPem, PUBLIC_MODE);
  await writeAtomically(dir, credentialFiles.key, c.keyPem, KEY_MODE);
  await writeAtomically(dir, credentialFiles.cert, c.certPem, PUBLIC_MODE);
}

/**
 * The stored credentials, or undefined when there are none yet (first start). Throws when only
 * some of the files exist or the key does not belong to the certificate.
 */
export async function loadDeviceCredentials(dir: string): Promise<DeviceCredentials | undefined> {
  const [certPem, keyPem, caPem] = await Promise.all([credentialFiles.cert, credentialFiles.key, credentialFiles.ca].map((f) => readIfExists(join(dir, f))));
  if (certPem === undefined && keyPem === undefined && caPem === undefined) return undefined;
  if (certPem === undefined || keyPem === undefined || caPem === undefined) {
    const missing = Object.entries({ [credentialFiles.cert]: certPem, [credentialFiles.key]: keyPem, [credentialFiles.ca]: caPem })
      .filter(([, v]) => v === undefined)
      .map(([k]) => k);
    throw new Error(`incomplete device credentials in ${dir}: ${missing.join(', ')} missing`);
  }
  const certKey = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const ownKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  if (!certKey.equals(ownKey)) throw new Error(`the private key in ${dir} does not belong to its certificate: apply for a new certificate`);
  return { certPem, keyPem, caPem };
}

async function writeAtomically(dir: string, name: string, content: string, mode: number): Promise<void> {
  const target = join(dir, name);
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': a fresh file, created with the final mode, so the key is never readable by others, not even briefly.
  const file = await open(temp, 'wx', mode);
  try {
    await file.writeFile(content, 'utf8');
    // The umask may have narrowed the mode at creation; the certificate must stay world-readable.
    await file.chmod(mode);
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(temp, { force: true });
    throw err;
  }
  await file.close();
  try {
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

/** Makes the rename durable; some platforms cannot open a directory for fsync, where rename is all there is. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort (e.g. Windows)
  } finally {
    await handle?.close();
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
