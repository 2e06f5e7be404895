import type { FastifyInstance } from 'fastify';
import { MAX_BATCH } from '@edgehub/shared';
import type { Scalar } from '../store/port.js';
import type { DeviceUpdate, NewDevice } from '../registry/devices.js';
import type { Registry } from '../registry/registry.js';
import { connectRoute } from './connect-route.js';
import { deviceRefOf } from './device-ref.js';
import { deviceView, deviceViews } from './device-view.js';
import { envelopeSchema, ok, paginationResponseSchema } from './envelope.js';
import { parseExpression, type FieldMap } from './expression.js';
import { project, toFindOptions, type PaginationRequest } from './paging.js';
import {
  actionQuery,
  attributesSchema,
  deviceRefQuery,
  i18nSchema,
  keySchema,
  searchBodySchema,
  tagsSchema,
  timezoneSchema,
} from './schemas.js';

const newDeviceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['productKey', 'timezone', 'deviceName'],
  properties: {
    productKey: keySchema,
    deviceKey: keySchema,
    deviceName: i18nSchema,
    deviceDesc: { type: 'string', maxLength: 1024 },
    timezone: timezoneSchema,
    deviceAttributes: attributesSchema,
    deviceTags: tagsSchema,
  },
} as const;

const createdSchema = {
  type: 'object',
  properties: {
    assetId: { type: 'string' },
    productKey: { type: 'string' },
    deviceKey: { type: 'string' },
    deviceSecret: { type: 'string' },
  },
};

const deviceFieldMap: FieldMap = {
  path(field) {
    if (field === 'deviceName') return 'deviceName.defaultValue';
    if (/^device(Attributes|Tags)\.[A-Za-z0-9_\-/]{1,64}$/.test(field)) return field;
    return [
      'productKey',
      'deviceKey',
      'assetId',
      'productType',
      'status',
      'timezone',
      'gatewayAssetId',
      'createTime',
      'activeTime',
      'lastOnlineTime',
      'lastOfflineTime',
    ].includes(field)
      ? field
      : undefined;
  },
  // EnOS search says "disable"; the Device struct says "disabled" (§1). Accept both.
  value: (field: string, v: Scalar) => (field === 'status' && v === 'disable' ? 'disabled' : v),
};

const sortable = {
  createTime: 'createTime',
  deviceKey: 'deviceKey',
  assetId: 'assetId',
  status: 'status',
  activeTime: 'activeTime',
  lastOnlineTime: 'lastOnlineTime',
  deviceName: 'deviceName.defaultValue',
};

const refQuery = (action: string) => actionQuery(action, deviceRefQuery);

/** Connection Service: devices (docs/ENOS-PROTOCOL.md §7.3). */
export async function deviceRoutes(app: FastifyInstance, { registry }: { registry: Registry }): Promise<void> {
  const tags = ['devices'];

  connectRoute(app, {
    method: 'POST',
    resource: 'devices',
    action: 'create',
    schema: {
      tags,
      summary: 'Create a device; returns its triple',
      querystring: actionQuery('create'),
      body: newDeviceSchema,
      response: { 200: envelopeSchema(createdSchema) },
    },
    handler: async (req) => {
      const d = await registry.devices.create(req.orgId!, req.body as NewDevice, req.caller!.app.accessKey);
      return ok(req.id, { assetId: d.assetId, productKey: d.productKey, deviceKey: d.deviceKey, deviceSecret: d.deviceSecret });
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'devices',
    action: 'batchCreate',
    bodyLimit: 8 * 1024 * 1024,
    schema: {
      tags,
      summary: `Create up to ${MAX_BATCH} devices; each entry succeeds or fails on its own`,
      querystring: actionQuery('batchCreate'),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['deviceList'],
        properties: { deviceList: { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: newDeviceSchema } },
      },
      response: {
        200: envelopeSchema(
          {
            type: 'array',
            items: {
              type: 'object',
              properties: { code: { type: 'integer' }, msg: { type: 'string' }, data: { ...createdSchema, type: ['object', 'null'] } },
            },
          },
          { successSize: { type: 'integer' }, totalSize: { type: 'integer' } },
        ),
      },
    },
    handler: async (req) => {
      const { deviceList } = req.body as { deviceList: NewDevice[] };
      const results = await registry.devices.batchCreate(req.orgId!, deviceList, req.caller!.app.accessKey);
      return { ...ok(req.id, results), successSize: results.filter((r) => r.code === 0).length, totalSize: results.length };
    },
  });

  connectRoute(app, {
    method: 'GET',
    resource: 'devices',
    action: 'get',
    schema: { tags, summary: 'Get a device by assetId or productKey + deviceKey', querystring: refQuery('get') },
    handler: async (req) => {
      const d = await registry.devices.require(req.orgId!, deviceRefOf(req.query as object));
      return ok(req.id, deviceView(d, await registry.products.byKey(d.productKey)));
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'devices',
    action: 'search',
    schema: {
      tags,
      summary:
        'Search devices (expression on productKey, deviceKey, assetId, status, deviceName, deviceAttributes.x, deviceTags.x …); at most 200 per page',
      querystring: actionQuery('search'),
      body: searchBodySchema,
      response: { 200: envelopeSchema({ type: 'array' }, { pagination: paginationResponseSchema }) },
    },
    handler: async (req) => {
      const body = (req.body ?? {}) as { expression?: string; pagination?: PaginationRequest; projection?: string[] };
      const filter = parseExpression(body.expression, deviceFieldMap);
      const { options, page } = toFindOptions(body.pagination, sortable, [
        { field: 'createTime', order: 'DESC' },
        { field: 'assetId', order: 'ASC' },
      ]);
      const found = await registry.devices.search(req.orgId!, filter, options);
      const views = await deviceViews(registry, found.items);
      return {
        ...ok(
          req.id,
          views.map((v) => project(v, body.projection)),
        ),
        pagination: { ...page, totalSize: found.total },
      };
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'devices',
    action: 'update',
    schema: {
      tags,
      summary: 'Update a device; with isPatchUpdate (default true) attributes and tags are merged, otherwise replaced',
      querystring: refQuery('update'),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['device'],
        properties: {
          isPatchUpdate: { type: 'boolean', default: true },
          device: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              deviceName: i18nSchema,
              deviceDesc: { type: 'string', maxLength: 1024 },
              timezone: timezoneSchema,
              deviceAttributes: attributesSchema,
              deviceTags: tagsSchema,
            },
          },
        },
      },
    },
    handler: async (req) => {
      const body = req.body as { device: DeviceUpdate; isPatchUpdate: boolean };
      await registry.devices.update(req.orgId!, deviceRefOf(req.query as object), body.device, body.isPatchUpdate);
      return ok(req.id, null);
    },
  });

  for (const action of ['delete', 'enable', 'disable'] as const) {
    connectRoute(app, {
      method: 'POST',
      resource: 'devices',
      action,
      schema: { tags, summary: `${action[0]!.toUpperCase()}${action.slice(1)} a device`, querystring: refQuery(action) },
      handler: async (req) => {
        await registry.devices[action](req.orgId!, deviceRefOf(req.query as object));
        return ok(req.id, null);
      },
    });
  }
}
