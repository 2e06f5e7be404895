import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistry, type Registry } from '../../src/registry/registry.js';
import { openEmbeddedStore } from '../../src/store/embedded/store.js';
import type { Store } from '../../src/store/port.js';

/** A registry over a fresh embedded store in a temporary directory, holding one product of org1. */
export interface RegistryFixture {
  /** The embedded store's LMDB path (for a second, read-only handle). */
  path: string;
  store: Store;
  registry: Registry;
  productKey: string;
  close(): Promise<void>;
}

export async function openRegistryFixture(
  prefix: string,
  options: NonNullable<Parameters<typeof openRegistry>[2]> = { cacheRecords: true },
): Promise<RegistryFixture> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const path = join(dir, 'registry');
  const store = await openEmbeddedStore({ path });
  const registry = await openRegistry(store, undefined, options);
  const product = await registry.products.create(
    'org1',
    { productName: { defaultValue: 'p' }, productType: 'Device', dataFormat: 'Json', biDirectionalAuth: false },
    'test',
  );
  return {
    path,
    store,
    registry,
    productKey: product.productKey,
    close: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
