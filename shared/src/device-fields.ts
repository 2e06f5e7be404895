/**
 * JSON schemas of the device and product fields that travel in more than one place: the REST
 * Connection Service (validation and OpenAPI), the MQTT dynamic registration of sub-devices and the
 * CLI's CSV import check the same formats (docs/ENOS-PROTOCOL.md §8 for the tag limits).
 */

/** A localised name: a default text plus optional translations keyed by locale. */
export const i18nSchema = {
  type: 'object',
  required: ['defaultValue'],
  additionalProperties: false,
  properties: {
    defaultValue: { type: 'string', minLength: 1, maxLength: 256 },
    i18nValue: { type: 'object', maxProperties: 32, additionalProperties: { type: 'string', maxLength: 256 } },
  },
} as const;

/** Tags: at most 100, key ≤ 50 chars of [A-Za-z0-9_-/], value ≤ 200 chars (EnOS limits, §8). */
export const tagsSchema = {
  type: 'object',
  maxProperties: 100,
  propertyNames: { pattern: '^[A-Za-z0-9_\\-/]{1,50}$' },
  additionalProperties: { type: 'string', maxLength: 200 },
} as const;

/** A productKey or deviceKey. */
export const keySchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_\\-.]+$' } as const;

/** UTC offset like "+08:00", or an IANA zone name like "Asia/Shanghai". */
export const timezoneSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^([+-](0\\d|1[0-4]):[0-5]\\d|[A-Za-z_]+(/[A-Za-z0-9_+\\-]+)*)$',
} as const;
