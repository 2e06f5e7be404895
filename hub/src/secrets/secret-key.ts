import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSecretFile } from '@edgehub/shared/secret-file';
import { SecretBox, SecretKeyError, secretKeyBytes } from './secret-box.js';

/** The generated key's file in the data directory (single node only). */
export const generatedKeyFile = 'secret.key';

/**
 * The hub's secret key, or why there is none. Without one, secrets that must be sealed cannot be
 * stored (the caller refuses with `missing`), and secrets stored in the clear by an older version
 * stay readable but are not re-sealed.
 */
export type SecretKeyring = { box: SecretBox; missing?: undefined } | { box?: undefined; missing: string };

interface WarnLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Where the key comes from (docs/SECURITY.md, "Secrets at rest"; docs/CONFIGURATION.md):
 *  - `HUB_SECRET_KEY` (32 bytes, base64) or `HUB_SECRET_KEY_FILE` (a 0600 file holding that text);
 *  - else, on a single node, `$HUB_DATA_DIR/secret.key`, generated 0600 at the first start;
 *  - else, with REDIS_URL or MONGODB_URL (several nodes share the store, each must hold the same
 *    key), none: an operator must give it, a generated key would be one node's only.
 * A malformed key stops the start-up with a message naming the variable, never the value.
 */
export async function loadSecretKeyring(opts: {
  env: Record<string, string | undefined>;
  dataDir: string;
  log: WarnLog;
}): Promise<SecretKeyring> {
  const { env, log } = opts;
  const inline = env['HUB_SECRET_KEY'];
  const file = env['HUB_SECRET_KEY_FILE'];
  if (inline && file) throw new SecretKeyError('Invalid', 'set HUB_SECRET_KEY or HUB_SECRET_KEY_FILE, not both');
  if (inline) return { box: new SecretBox(decodeKey(inline, 'HUB_SECRET_KEY')) };
  if (file) return { box: new SecretBox(await readKeyFile(file, 'HUB_SECRET_KEY_FILE', log)) };
  if (env['REDIS_URL'] || env['MONGODB_URL'])
    return {
      missing:
        'HUB_SECRET_KEY or HUB_SECRET_KEY_FILE is required with REDIS_URL or MONGODB_URL: every node must seal and open secrets with the same key',
    };
  const path = join(opts.dataDir, generatedKeyFile);
  try {
    return { box: new SecretBox(await readKeyFile(path, path, log)) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await writeSecretFile(path, randomBytes(secretKeyBytes).toString('base64') + '\n', { exclusive: true });
    log.info({ path }, 'generated the hub secret key (keep it with the data directory: sealed secrets need it)');
  } catch (err) {
    // Another process on this data directory made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return { box: new SecretBox(await readKeyFile(path, path, log)) };
}

async function readKeyFile(path: string, name: string, log: WarnLog): Promise<Uint8Array> {
  const text = await readFile(path, 'utf8');
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) log.warn({ path, mode: mode.toString(8) }, 'the secret key file is readable by others: make it 0600');
  return decodeKey(text, name);
}

function decodeKey(text: string, name: string): Uint8Array {
  const t = text.trim();
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(t)
    ? Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64')
    : undefined;
  if (!bytes || bytes.length !== secretKeyBytes)
    throw new SecretKeyError('Invalid', `${name} must hold ${secretKeyBytes} bytes in base64 (make one with: openssl rand -base64 32)`);
  return bytes;
}
