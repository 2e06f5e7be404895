import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeSecretFile } from '@edgehub/shared/secret-file';
import { UsageError } from './errors.js';

/** A service account the CLI acts as: the hub to call, the org to act in, the account's key and secret. */
export interface Profile {
  url: string;
  orgId: string;
  accessKey: string;
  accessSecret: string;
}

interface CredentialsFile {
  profiles: Record<string, Profile>;
}

export const DEFAULT_PROFILE = 'default';

/** `$EDGEHUB_CONFIG`, else `~/.config/edgehub/credentials.json` (`$XDG_CONFIG_HOME` honoured). */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): { path: string; ownDir: boolean } {
  if (env['EDGEHUB_CONFIG']) return { path: env['EDGEHUB_CONFIG'], ownDir: false };
  const base = env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  return { path: join(base, 'edgehub', 'credentials.json'), ownDir: true };
}

export function profileName(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return explicit ?? env['EDGEHUB_PROFILE'] ?? DEFAULT_PROFILE;
}

/** The named profile, or a UsageError telling the user to log in. Warns when others can read the file. */
export async function loadProfile(name: string, warn: (msg: string) => void): Promise<Profile> {
  const { path } = credentialsPath();
  const file = await readCredentials(path);
  const profile = file?.profiles[name];
  if (!profile) throw new UsageError(`no profile '${name}' in ${path}; run \`login\` first`);
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) warn(`warning: ${path} is accessible by other users (mode ${mode.toString(8)}); run chmod 600 on it`);
  return profile;
}

/**
 * Adds or replaces a profile. The file holds secrets: it is written with the shared secret-file
 * writer (0600, atomic and fsync'd: a crash never leaves it half written; docs/ARCHITECTURE.md,
 * "Secrets on disk") and its own directory is 0700.
 */
export async function saveProfile(name: string, profile: Profile): Promise<string> {
  const { path, ownDir } = credentialsPath();
  const dir = dirname(path);
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  // Tighten the directory only if it is ours: never chmod a shared one like /tmp that $EDGEHUB_CONFIG points into.
  if (created !== undefined || ownDir) await chmod(dir, 0o700);
  const file = (await readCredentials(path)) ?? { profiles: {} };
  file.profiles[name] = profile;
  await writeSecretFile(path, JSON.stringify(file, null, 2) + '\n');
  return path;
}

async function readCredentials(path: string): Promise<CredentialsFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const parsed = JSON.parse(text) as Partial<CredentialsFile>;
    if (typeof parsed.profiles !== 'object' || parsed.profiles === null) throw new Error('no profiles');
    return { profiles: parsed.profiles };
  } catch {
    throw new UsageError(`${path} is not a credentials file written by this CLI`);
  }
}
