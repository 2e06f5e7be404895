/** JSON schema fragments shared by the routes (validation + OpenAPI). */
import { keySchema } from '@edgehub/shared';

// The device field formats live in @edgehub/shared (the MQTT registration and the CLI check them too).
export { i18nSchema, keySchema, tagsSchema, timezoneSchema } from '@edgehub/shared';

export const attributesSchema = { type: 'object', maxProperties: 500 } as const;

export const orgQuery = { orgId: { type: 'string', minLength: 1, maxLength: 64 } } as const;

/** Querystring of a Connection Service call: the action and the orgId, plus any extra params. */
export function actionQuery(action: string, extra: Record<string, object> = {}, required: string[] = []) {
  return {
    type: 'object',
    required: ['action', 'orgId', ...required],
    properties: { action: { type: 'string', const: action }, ...orgQuery, ...extra },
  };
}

/** A device is addressed by assetId or by productKey + deviceKey, in the query. */
export const deviceRefQuery = {
  assetId: { type: 'string', minLength: 1, maxLength: 64 },
  productKey: keySchema,
  deviceKey: keySchema,
} as const;

/** A device reference in a body (topology calls). */
export const deviceRefBody = {
  type: 'object',
  additionalProperties: false,
  properties: { assetId: { type: 'string', minLength: 1, maxLength: 64 }, productKey: keySchema, deviceKey: keySchema },
} as const;

export const paginationRequestSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pageNo: { type: 'integer', minimum: 1, default: 1 },
    pageSize: { type: 'integer', minimum: 1, maximum: 200, default: 10 },
    sorters: {
      type: 'array',
      maxItems: 4,
      items: {
        type: 'object',
        required: ['field'],
        additionalProperties: false,
        properties: { field: { type: 'string', maxLength: 64 }, order: { type: 'string', enum: ['ASC', 'DESC'], default: 'ASC' } },
      },
    },
  },
} as const;

export const searchBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    expression: { type: 'string', maxLength: 4000 },
    pagination: paginationRequestSchema,
    projection: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 64 } },
    locale: { type: 'string', maxLength: 16 },
  },
} as const;
