import type { Store } from '../store/port.js';
import { Applications } from './applications.js';
import { CachedCollection } from './cached-collection.js';
import { collectionSpecs } from './collections.js';
import { Devices, type DeviceLimits } from './devices.js';
import { RegistryEventBus } from './events.js';
import type { StatusCommitOptions } from './status-commits.js';
import { Organizations } from './organizations.js';
import { Products } from './products.js';
import type { ApplicationRecord, DeviceRecord, OrganizationRecord, ProductRecord, RegistrationRecord } from './records.js';
import { Topology, type TopologyLimits } from './topology.js';

/**
 * Device records held in memory on a single-writer hub (cached-collection.ts), read by every device
 * REST call. About 0.4 KiB of heap each (10,000 records read: 420 bytes per record after GC), so
 * about 20 MiB when full; past this many the cache starts over.
 */
const DEVICE_RECORDS_HELD = 50_000;

export type RegistryLimits = DeviceLimits & TopologyLimits;

export const defaultRegistryLimits: RegistryLimits = {
  maxDevicesPerProduct: 10_000,
  maxSubDevicesPerGateway: 1_500,
};

/** The registry's repositories over one store. */
export interface Registry {
  events: RegistryEventBus;
  organizations: Organizations;
  applications: Applications;
  products: Products;
  devices: Devices;
  topology: Topology;
}

/**
 * `cacheRecords`: keep the records every CONNECT and signed request reads in memory, dropped by
 * this process's own writes (record-cache.ts), device records by assetId among them
 * (cached-collection.ts). Only for a hub that is the store's single writer; off in a cluster.
 * `statusCommits`: how device status writes are batched (status-commits.ts).
 */
export async function openRegistry(
  store: Store,
  limits: RegistryLimits = defaultRegistryLimits,
  options: { cacheRecords?: boolean; statusCommits?: StatusCommitOptions } = {},
): Promise<Registry> {
  const cache = options.cacheRecords ?? false;
  const events = new RegistryEventBus();
  const orgs = await store.collection<OrganizationRecord>(collectionSpecs.organizations);
  const apps = await store.collection<ApplicationRecord>(collectionSpecs.applications);
  const regs = await store.collection<RegistrationRecord>(collectionSpecs.registrations);
  const products = await store.collection<ProductRecord>(collectionSpecs.products);
  const stored = await store.collection<DeviceRecord>(collectionSpecs.devices);
  // Every repository below writes devices through this one object, so each write drops what it changed.
  const devices = cache ? new CachedCollection(stored, collectionSpecs.devices, DEVICE_RECORDS_HELD) : stored;
  const productRepo = new Products(products, devices, cache);
  const deviceRepo = new Devices(devices, productRepo, events, limits, cache, options.statusCommits);
  return {
    events,
    organizations: new Organizations(orgs, cache),
    applications: new Applications(apps, regs, cache),
    products: productRepo,
    devices: deviceRepo,
    topology: new Topology(devices, deviceRepo, events, limits),
  };
}
