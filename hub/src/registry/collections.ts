import type { CollectionSpec } from '../store/port.js';

/** Every registry collection with its indexes, declared once for all adapters. */
export const collectionSpecs = {
  organizations: { name: 'organizations', key: 'orgId' },
  applications: {
    name: 'applications',
    key: 'appId',
    unique: [{ name: 'accessKey', fields: ['accessKey'] }],
    indexes: ['orgId'],
  },
  registrations: { name: 'registrations', key: 'id', indexes: ['orgId', 'appId'] },
  products: { name: 'products', key: 'productKey', indexes: ['orgId'] },
  devices: {
    name: 'devices',
    key: 'assetId',
    unique: [{ name: 'triple', fields: ['productKey', 'deviceKey'] }],
    indexes: ['orgId', 'productKey', 'gatewayAssetId'],
  },
  accessTokens: { name: 'accessTokens', key: 'accessToken', indexes: ['appKey'] },
  tokenRequests: { name: 'tokenRequests', key: 'encryption', indexes: ['at'] },
  commands: { name: 'commands', key: 'commandId', indexes: ['assetId', 'orgId', 'status'] },
} satisfies Record<string, CollectionSpec>;
