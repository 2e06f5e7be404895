import { readFile } from 'node:fs/promises';
import { writeSecretFile } from '@edgehub/shared/secret-file';
import type { SubDeviceCredentials } from './sub-devices.js';

/**
 * The last successful registration, kept on disk so that an edge restarted while the hub is
 * unreachable still knows its sub-devices' credentials. It holds device secrets: written with the
 * shared secret-file writer (0600, atomic, fsync'd; docs/ARCHITECTURE.md, "Secrets on disk").
 */
export async function saveRegistration(file: string, subs: Map<string, SubDeviceCredentials>): Promise<void> {
  await writeSecretFile(file, JSON.stringify([...subs.values()]));
}

export async function loadRegistration(file: string): Promise<Map<string, SubDeviceCredentials> | undefined> {
  try {
    const list = JSON.parse(await readFile(file, 'utf8')) as SubDeviceCredentials[];
    return new Map(list.map((s) => [s.deviceKey, s]));
  } catch {
    return undefined;
  }
}
