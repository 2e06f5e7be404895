import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CommandCore } from '../../commands/command-core.js';
import type { Store } from '../../store/port.js';
import type { DeviceManagement } from '../device-management.js';
import { AppStore, deviceAppSpec, subscriptionSpec } from './app-store.js';
import { Artifacts, appSettingSpec } from './artifacts.js';
import { AppPublisher, appSpec, releaseSpec } from './publisher.js';

export interface AppManagementOptions {
  dataDir: string;
  /** Largest artifact accepted (HUB_APP_MAX_ARTIFACT_BYTES). */
  maxArtifactBytes: number;
  publicBaseUrl: () => string;
  log: Logger;
  clock: () => number;
}

/** Builds the app publisher and the app store over the hub's store (docs/DEVICE-MANAGEMENT.md, "Applications"). */
export async function openAppManagement(
  store: Store,
  dm: DeviceManagement,
  commands: CommandCore,
  o: AppManagementOptions,
): Promise<AppStore> {
  const artifacts = await Artifacts.open(
    await store.collection(appSettingSpec),
    join(o.dataDir, 'apps', 'artifacts'),
    o.maxArtifactBytes,
    o.clock,
  );
  const publisher = new AppPublisher(await store.collection(appSpec), await store.collection(releaseSpec), artifacts, o.clock);
  return new AppStore(
    publisher,
    dm,
    commands,
    await store.collection(subscriptionSpec),
    await store.collection(deviceAppSpec),
    o.publicBaseUrl,
    o.log,
    o.clock,
  );
}
