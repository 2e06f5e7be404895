import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import type { SubDeviceCredentials } from './sub-devices.js';

/**
 * The last successful registration, kept on disk so that an edge restarted while the hub is
 * unreachable still knows its sub-devices' credentials. It holds device secrets: 0600, written
 * atomically (temp file + rename).
 */
export async function saveRegistration(file: string, subs: Map<string, SubDeviceCredentials>): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify([...subs.values()]), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

export async function loadRegistration(file: string): Promise<Map<string, SubDeviceCredentials> | undefined> {
  try {
    const list = JSON.parse(await readFile(file, 'utf8')) as SubDeviceCredentials[];
    return new Map(list.map((s) => [s.deviceKey, s]));
  } catch {
    return undefined;
  }
}
