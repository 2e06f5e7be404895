import type { Logger } from 'pino';
import type { CommandCore } from '../../commands/command-core.js';
import type { Store } from '../../store/port.js';
import type { DeviceManagement } from '../device-management.js';
import { PolicyMonitor } from './monitor.js';
import type { PolicyPlatform } from './platforms.js';
import { Policies } from './policies.js';
import { PolicyOperations } from './policy-publisher.js';
import { PolicyStore } from './policy-store.js';

export interface PolicyManagement {
  policies: Policies;
  monitor: PolicyMonitor;
  store: PolicyStore;
  platforms: ReadonlyMap<string, PolicyPlatform>;
}

/** Policies and their monitoring on the hub's store, command core and device types. */
export async function openPolicyManagement(deps: {
  store: Store;
  dm: DeviceManagement;
  commands: CommandCore;
  /** The policy platform of each device type that is on (hub/src/device-types/policy-platforms.ts). */
  platforms: ReadonlyMap<string, PolicyPlatform>;
  log: Logger;
  clock: () => number;
  monitorFrequencySeconds: number;
}): Promise<PolicyManagement> {
  const store = await PolicyStore.open(deps.store);
  const platforms = deps.platforms;
  const ops = new PolicyOperations(deps.dm, deps.log);
  const shared = { store, devices: deps.dm.devices, ops, platforms, log: deps.log, clock: deps.clock };
  return {
    store,
    platforms,
    policies: new Policies({ ...shared, groups: deps.dm.groups }),
    monitor: new PolicyMonitor({ ...shared, commands: deps.commands, frequencyMs: deps.monitorFrequencySeconds * 1000 }),
  };
}
