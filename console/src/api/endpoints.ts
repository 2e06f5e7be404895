/**
 * Every hub endpoint the console calls. test/integration/console-api.test.ts checks each one
 * against the hub's OpenAPI document (/docs/json), so a renamed route fails a test, not an operator.
 */
export interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** The `action` query parameter of the Connection Service routes. */
  action?: string;
}

const cs = (resource: string, method: 'GET' | 'POST', action: string): Endpoint => ({
  method,
  path: `/connect-service/v2.1/${resource}`,
  action,
});

export const endpoints = {
  tokenGet: { method: 'POST', path: '/apim-token-service/v2.0/token/get' },
  organizations: { method: 'GET', path: '/admin/v1/organizations' },
  productCreate: cs('products', 'POST', 'create'),
  productGet: cs('products', 'GET', 'get'),
  productSearch: cs('products', 'POST', 'search'),
  productUpdate: cs('products', 'POST', 'update'),
  deviceCreate: cs('devices', 'POST', 'create'),
  deviceBatchCreate: cs('devices', 'POST', 'batchCreate'),
  deviceGet: cs('devices', 'GET', 'get'),
  deviceSearch: cs('devices', 'POST', 'search'),
  subDevices: cs('device-topos', 'POST', 'searchSubDevice'),
  invokeService: cs('commands', 'POST', 'invokeService'),
  setMeasurepoint: cs('commands', 'POST', 'setMeasurepoint'),
  commandGet: cs('commands', 'GET', 'get'),
  commandSearch: cs('commands', 'POST', 'search'),
  queryLatest: cs('measurepoints', 'POST', 'queryLatest'),
  queryHistory: cs('measurepoints', 'POST', 'queryHistory'),
  connectionState: cs('connection-states', 'GET', 'get'),
  certificateList: cs('certificates', 'GET', 'list'),
  certificateRevoke: cs('certificates', 'POST', 'revoke'),
  events: { method: 'GET', path: '/stream-service/v1/events' },
  crl: { method: 'GET', path: '/enos/CA/crl/{name}' },
  mdmDevices: { method: 'GET', path: '/api/device-mgt/v1.0/devices' },
  mdmDeviceTypes: { method: 'GET', path: '/api/device-mgt/v1.0/device-types' },
  mdmOperationAdd: { method: 'POST', path: '/api/device-mgt/v1.0/devices/{type}/operations' },
  mdmOperations: { method: 'GET', path: '/api/device-mgt/v1.0/devices/{type}/{id}/operations' },
  mdmGroups: { method: 'GET', path: '/api/device-mgt/v1.0/groups' },
} as const satisfies Record<string, Endpoint>;

export type EndpointName = keyof typeof endpoints;
