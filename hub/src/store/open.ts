/**
 * Picks the registry store from the config: MongoDB when a URL is given, otherwise the embedded
 * store in the data directory (the default: nothing else to install or run).
 */
import { join } from 'node:path';
import { openEmbeddedStore } from './embedded/store.js';
import type { Store } from './port.js';

export interface StoreConfig {
  mongodbUrl?: string;
  dataDir: string;
  mongodbDbName?: string;
}

export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.mongodbUrl) {
    // Loaded only when configured: the MongoDB driver is a large part of start-up (docs/BENCHMARKS.md, start-up).
    const { openMongoStore } = await import('./mongodb/store.js');
    return openMongoStore({ url: config.mongodbUrl, dbName: config.mongodbDbName });
  }
  return openEmbeddedStore({ path: join(config.dataDir, 'registry') });
}
