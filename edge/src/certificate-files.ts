/**
 * Where the edge keeps its mutual-TLS credentials (docs/ENOS-PROTOCOL.md §6): the private key (0600),
 * its certificate and the CA certificate (0644), in one directory (0700). Each file is replaced
 * atomically by the shared secret-file writer (temporary file, fsync, rename, fsync of the
 * directory; docs/ARCHITECTURE.md, "Secrets on disk"), so a crash or power loss leaves the old
 * file or the new one, never half of one.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomically, writeSecretFile } from '@edgehub/shared/secret-file';
import { join } from 'node:path';

export interface DeviceCredentials {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export const credentialFiles = { cert: 'device.crt', key: 'device.key', ca: 'ca.crt' } as const;

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
  await writeFileAtomically(join(dir, credentialFiles.ca), c.caPem, { mode: PUBLIC_MODE });
  await writeSecretFile(join(dir, credentialFiles.key), c.keyPem);
  await writeFileAtomically(join(dir, credentialFiles.cert), c.certPem, { mode: PUBLIC_MODE });
}

/**
 * The stored credentials, or undefined when there are none yet (first start). Throws when only
 * some of the files exist or the key does not belong to the certificate.
 */
export async function loadDeviceCredentials(dir: string): Promise<DeviceCredentials | undefined> {
  const [certPem, keyPem, caPem] = await Promise.all(
    [credentialFiles.cert, credentialFiles.key, credentialFiles.ca].map((f) => readIfExists(join(dir, f))),
  );
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

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
