/**
 * Picks the telemetry store from the config, like the registry store: MongoDB when a URL is given
 * (time-series collections in the same database), otherwise the embedded store in its own LMDB
 * environment under the data directory (`{dataDir}/telemetry`).
 */
import { join } from 'node:path';
import { openEmbeddedTelemetryStore } from './embedded/store.js';
import type { TelemetryStore } from './port.js';

export interface TelemetryStoreConfig {
  mongodbUrl?: string;
  mongodbDbName?: string;
  dataDir: string;
  /**
   * History retention. MongoDB also expires history itself (expireAfterSeconds); the embedded
   * store relies on the retention job (startRetention) alone. Unset keeps history forever.
   */
  retentionMs?: number;
  /** Where adapter setup decisions are told (e.g. no time-series collections on an old MongoDB). */
  log?: (message: string) => void;
}

export async function openTelemetryStore(config: TelemetryStoreConfig): Promise<TelemetryStore> {
  if (config.mongodbUrl) {
    // Loaded only when configured (docs/BENCHMARKS.md, start-up).
    const { openMongoTelemetryStore } = await import('./mongodb/store.js');
    const options: Parameters<typeof openMongoTelemetryStore>[0] = { url: config.mongodbUrl };
    if (config.mongodbDbName !== undefined) options.dbName = config.mongodbDbName;
    if (config.retentionMs !== undefined) options.retentionMs = config.retentionMs;
    if (config.log) options.log = config.log;
    return openMongoTelemetryStore(options);
  }
  return openEmbeddedTelemetryStore({ path: join(config.dataDir, 'telemetry') });
}
