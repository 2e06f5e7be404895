import { readFile } from 'node:fs/promises';
import { writeSecretFile } from '@edgehub/shared/secret-file';
import type { SouthboundDeviceConfig } from '../config/types.js';

/**
 * Binds and unbinds made through the config center, kept beside the config file
 * (`edge-bindings.json`) so that they survive a restart (docs/ARCHITECTURE.md, "Edge config
 * center"): `bound` devices are added to (or replace) the config file's, `unbound` deviceKeys are
 * left out of it. Written by the shared secret-file writer (0600, atomic, fsync'd; docs/ARCHITECTURE.md, "Secrets on disk").
 */
export interface Bindings {
  bound: SouthboundDeviceConfig[];
  unbound: string[];
}

export async function loadBindings(file: string): Promise<Bindings> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { bound: [], unbound: [] };
    throw e;
  }
  const parsed = JSON.parse(text) as Partial<Bindings>;
  return {
    bound: Array.isArray(parsed.bound) ? parsed.bound : [],
    unbound: Array.isArray(parsed.unbound) ? parsed.unbound.filter((k) => typeof k === 'string') : [],
  };
}

export async function saveBindings(file: string, b: Bindings): Promise<void> {
  await writeSecretFile(file, JSON.stringify(b, null, 2));
}

/** The config file's devices with the saved binds applied. */
export function applyBindings(configured: readonly SouthboundDeviceConfig[], b: Bindings): SouthboundDeviceConfig[] {
  const boundKeys = new Set(b.bound.map((d) => d.deviceKey));
  const unbound = new Set(b.unbound);
  return [...configured.filter((d) => !unbound.has(d.deviceKey) && !boundKeys.has(d.deviceKey)), ...b.bound];
}
