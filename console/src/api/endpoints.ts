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
  eventHistory: cs('events', 'POST', 'queryHistory'),
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
  mdmGroupCreate: { method: 'POST', path: '/api/device-mgt/v1.0/groups' },
  mdmGroupUpdate: { method: 'PUT', path: '/api/device-mgt/v1.0/groups/id/{groupId}' },
  mdmGroupAdd: { method: 'POST', path: '/api/device-mgt/v1.0/groups/id/{groupId}/devices/add' },
  mdmGroupRemove: { method: 'POST', path: '/api/device-mgt/v1.0/groups/id/{groupId}/devices/remove' },
  mdmPolicies: { method: 'GET', path: '/api/device-mgt/v1.0/policies' },
  mdmPolicyCreate: { method: 'POST', path: '/api/device-mgt/v1.0/policies' },
  mdmPolicyUpdate: { method: 'PUT', path: '/api/device-mgt/v1.0/policies/{policyId}' },
  mdmPolicyActivate: { method: 'POST', path: '/api/device-mgt/v1.0/policies/activate-policy' },
  mdmPolicyDeactivate: { method: 'POST', path: '/api/device-mgt/v1.0/policies/deactivate-policy' },
  mdmPolicyApply: { method: 'PUT', path: '/api/device-mgt/v1.0/policies/apply-changes' },
  mdmCompliance: { method: 'GET', path: '/api/device-mgt/v1.0/devices/{type}/{id}/compliance-data' },
  mdmComplianceList: { method: 'GET', path: '/api/device-mgt/v1.0/devices/compliance/{status}' },
  pubApps: { method: 'GET', path: '/api/application-mgt-publisher/v1.0/applications' },
  pubAppCreate: { method: 'POST', path: '/api/application-mgt-publisher/v1.0/applications/ent-app' },
  pubApp: { method: 'GET', path: '/api/application-mgt-publisher/v1.0/applications/{appId}' },
  pubReleaseCreate: { method: 'POST', path: '/api/application-mgt-publisher/v1.0/applications/{appId}/releases' },
  pubArtifact: { method: 'PUT', path: '/api/application-mgt-publisher/v1.0/applications/release/{uuid}/artifact' },
  pubLifecycle: { method: 'POST', path: '/api/application-mgt-publisher/v1.0/applications/life-cycle/{uuid}' },
  pubLifecycleConfig: { method: 'GET', path: '/api/application-mgt-publisher/v1.0/applications/lifecycle-config' },
  storeApps: { method: 'GET', path: '/api/application-mgt-store/v1.0/applications' },
  storeSubscribe: { method: 'POST', path: '/api/application-mgt-store/v1.0/subscription/{uuid}/{targetType}/{action}' },
  storeSubscriptions: { method: 'GET', path: '/api/application-mgt-store/v1.0/subscriptions' },
  storeSubscriptionDevices: { method: 'GET', path: '/api/application-mgt-store/v1.0/subscription/{uuid}/devices' },
  storeCancel: { method: 'DELETE', path: '/api/application-mgt-store/v1.0/subscriptions/{id}' },
} as const satisfies Record<string, Endpoint>;

export type EndpointName = keyof typeof endpoints;
