import type { FastifyInstance } from 'fastify';
import type { Registry } from '../registry/registry.js';
import type { NewProduct, ProductUpdate } from '../registry/products.js';
import { thingModelSchema } from '../registry/thing-model.js';
import { connectRoute } from './connect-route.js';
import { envelopeSchema, ok, paginationResponseSchema } from './envelope.js';
import { parseExpression, type FieldMap } from './expression.js';
import { project, toFindOptions, type PaginationRequest } from './paging.js';
import { actionQuery, i18nSchema, keySchema, searchBodySchema, tagsSchema } from './schemas.js';

const validDay = { type: 'integer', minimum: 1, maximum: 36500 } as const;

const productFields = {
  productName: i18nSchema,
  productDesc: { type: 'string', maxLength: 1024 },
  dataFormat: { type: 'string', enum: ['Json', 'Custom'] },
  biDirectionalAuth: { type: 'boolean' },
  dynamicActivateEnabled: { type: 'boolean' },
  modelId: { type: 'string', maxLength: 64 },
  thingModel: thingModelSchema,
  productTags: tagsSchema,
  defaultValidDay: validDay,
  maxValidDay: validDay,
} as const;

const productFieldMap: FieldMap = {
  path(field) {
    if (field === 'productName') return 'productName.defaultValue';
    if (/^productTags\.[A-Za-z0-9_\-/]{1,50}$/.test(field)) return field;
    return [
      'productKey',
      'productType',
      'dataFormat',
      'modelId',
      'biDirectionalAuth',
      'dynamicActivateEnabled',
      'createTime',
      'updateTime',
    ].includes(field)
      ? field
      : undefined;
  },
};

const sortable = { createTime: 'createTime', updateTime: 'updateTime', productKey: 'productKey', productName: 'productName.defaultValue' };

const productKeyQuery = { productKey: keySchema };

/** Connection Service: products (docs/ENOS-PROTOCOL.md §7.3). */
export async function productRoutes(app: FastifyInstance, { registry }: { registry: Registry }): Promise<void> {
  const tags = ['products'];

  connectRoute(app, {
    method: 'POST',
    resource: 'products',
    action: 'create',
    schema: {
      tags,
      summary: 'Create a product; returns its productKey',
      querystring: actionQuery('create'),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['productName', 'productType', 'dataFormat', 'biDirectionalAuth'],
        properties: { ...productFields, productType: { type: 'string', enum: ['Device', 'Gateway'] } },
      },
      response: { 200: envelopeSchema({ type: 'string' }) },
    },
    handler: async (req) => {
      const p = await registry.products.create(req.orgId!, req.body as NewProduct, req.caller!.app.accessKey);
      return ok(req.id, p.productKey);
    },
  });

  connectRoute(app, {
    method: 'GET',
    resource: 'products',
    action: 'get',
    schema: { tags, summary: 'Get a product', querystring: actionQuery('get', productKeyQuery, ['productKey']) },
    handler: async (req) => {
      const { productKey } = req.query as { productKey: string };
      return ok(req.id, await registry.products.require(req.orgId!, productKey));
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'products',
    action: 'search',
    schema: {
      tags,
      summary: 'Search products with an expression and pagination',
      querystring: actionQuery('search'),
      body: searchBodySchema,
      response: { 200: envelopeSchema({ type: 'array' }, { pagination: paginationResponseSchema }) },
    },
    handler: async (req) => {
      const body = (req.body ?? {}) as { expression?: string; pagination?: PaginationRequest; projection?: string[] };
      const filter = parseExpression(body.expression, productFieldMap);
      const { options, page } = toFindOptions(body.pagination, sortable, [{ field: 'createTime', order: 'DESC' }]);
      const found = await registry.products.search(req.orgId!, filter, options);
      return {
        ...ok(
          req.id,
          found.items.map((p) => project(p, body.projection)),
        ),
        pagination: { ...page, totalSize: found.total },
      };
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'products',
    action: 'update',
    schema: {
      tags,
      summary: 'Update a product (fields given are replaced)',
      querystring: actionQuery('update', productKeyQuery, ['productKey']),
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: productFields },
    },
    handler: async (req) => {
      const { productKey } = req.query as { productKey: string };
      await registry.products.update(req.orgId!, productKey, req.body as ProductUpdate, req.caller!.app.accessKey);
      return ok(req.id, null);
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'products',
    action: 'delete',
    schema: { tags, summary: 'Delete a product that has no devices', querystring: actionQuery('delete', productKeyQuery, ['productKey']) },
    handler: async (req) => {
      const { productKey } = req.query as { productKey: string };
      await registry.products.delete(req.orgId!, productKey);
      return ok(req.id, null);
    },
  });
}
