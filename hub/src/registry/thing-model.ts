/**
 * The thing model of a product: its measurepoints, attributes, events and services, each with a
 * data type. Devices report against it; the MQTT router validates payloads with `checkValue`
 * (code 1204 on mismatch).
 */

export const dataTypes = ['INT', 'FLOAT', 'DOUBLE', 'STRING', 'BOOL', 'ENUM', 'TIMESTAMP', 'DATE', 'ARRAY', 'STRUCT'] as const;
export type DataType = (typeof dataTypes)[number];

export interface TypeSpec {
  dataType: DataType;
  /** ENUM: the allowed values (numbers or strings). */
  enumValues?: (string | number)[];
  /** ARRAY: the element type. */
  itemType?: TypeSpec;
  /** STRUCT: the field types. */
  fields?: Record<string, TypeSpec>;
  /** STRING: maximum length. */
  maxLength?: number;
  unit?: string;
}

export interface MeasurepointSpec extends TypeSpec {
  name?: string;
  /** Whether the point carries a quality (0–9) beside its value (docs/ENOS-PROTOCOL.md §4.1). */
  hasQuality?: boolean;
}

export interface AttributeSpec extends TypeSpec {
  name?: string;
  required?: boolean;
}

export interface EventSpec {
  name?: string;
  eventType?: 'INFO' | 'WARN' | 'ERROR';
  outputData: Record<string, TypeSpec>;
}

export interface ServiceSpec {
  name?: string;
  callType?: 'SYNC' | 'ASYNC';
  inputData: Record<string, TypeSpec>;
  outputData: Record<string, TypeSpec>;
}

export interface ThingModel {
  measurepoints: Record<string, MeasurepointSpec>;
  attributes: Record<string, AttributeSpec>;
  events: Record<string, EventSpec>;
  services: Record<string, ServiceSpec>;
}

export const emptyThingModel = (): ThingModel => ({ measurepoints: {}, attributes: {}, events: {}, services: {} });

const MAX_DEPTH = 3;
const idPattern = '^[A-Za-z_][A-Za-z0-9_.\\-]{0,63}$';

function typeSpecSchema(depth: number): object {
  const base: Record<string, unknown> = {
    dataType: { type: 'string', enum: [...dataTypes] },
    enumValues: { type: 'array', maxItems: 256, items: { type: ['string', 'number'] } },
    maxLength: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    unit: { type: 'string', maxLength: 32 },
    name: { type: 'string', maxLength: 128 },
    hasQuality: { type: 'boolean' },
    required: { type: 'boolean' },
  };
  if (depth < MAX_DEPTH) {
    base['itemType'] = typeSpecSchema(depth + 1);
    base['fields'] = {
      type: 'object',
      maxProperties: 128,
      propertyNames: { pattern: idPattern },
      additionalProperties: typeSpecSchema(depth + 1),
    };
  }
  return { type: 'object', required: ['dataType'], additionalProperties: false, properties: base };
}

const typeMap = (max: number) => ({
  type: 'object',
  maxProperties: max,
  propertyNames: { pattern: idPattern },
  additionalProperties: typeSpecSchema(0),
});

/** JSON schema of a thing model, used by the product routes (validation and OpenAPI). */
export const thingModelSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    measurepoints: typeMap(2000),
    attributes: typeMap(500),
    events: {
      type: 'object',
      maxProperties: 500,
      propertyNames: { pattern: idPattern },
      additionalProperties: {
        type: 'object',
        required: ['outputData'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', maxLength: 128 },
          eventType: { type: 'string', enum: ['INFO', 'WARN', 'ERROR'] },
          outputData: typeMap(128),
        },
      },
    },
    services: {
      type: 'object',
      maxProperties: 500,
      propertyNames: { pattern: idPattern },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: { type: 'string', maxLength: 128 },
          callType: { type: 'string', enum: ['SYNC', 'ASYNC'] },
          inputData: typeMap(128),
          outputData: typeMap(128),
        },
      },
    },
  },
} as const;

export function normalizeThingModel(m: Partial<ThingModel> | undefined): ThingModel {
  const services: Record<string, ServiceSpec> = {};
  for (const [id, s] of Object.entries(m?.services ?? {}))
    services[id] = { ...s, inputData: s.inputData ?? {}, outputData: s.outputData ?? {} };
  return {
    measurepoints: m?.measurepoints ?? {},
    attributes: m?.attributes ?? {},
    events: m?.events ?? {},
    services,
  };
}

/**
 * Checks a value against a type. Returns undefined when it fits, otherwise a short reason.
 * Numbers may arrive as numeric strings from some SDKs (the doc's own sample sends "1.02").
 */
export function checkValue(spec: TypeSpec, value: unknown, path = 'value', depth = 0): string | undefined {
  if (depth > MAX_DEPTH + 1) return `${path} nests too deeply`;
  switch (spec.dataType) {
    case 'INT':
    case 'TIMESTAMP':
    case 'DATE': {
      const n = asNumber(value);
      return n !== undefined && Number.isInteger(n) ? undefined : `${path} must be an integer`;
    }
    case 'FLOAT':
    case 'DOUBLE':
      return asNumber(value) !== undefined ? undefined : `${path} must be a number`;
    case 'BOOL':
      return typeof value === 'boolean' || value === 0 || value === 1 ? undefined : `${path} must be a boolean`;
    case 'STRING':
      if (typeof value !== 'string') return `${path} must be a string`;
      return spec.maxLength !== undefined && value.length > spec.maxLength ? `${path} is longer than ${spec.maxLength}` : undefined;
    case 'ENUM':
      return (spec.enumValues ?? []).some((v) => v === value || String(v) === String(value))
        ? undefined
        : `${path} is not an allowed value`;
    case 'ARRAY': {
      if (!Array.isArray(value)) return `${path} must be an array`;
      if (!spec.itemType) return undefined;
      for (let i = 0; i < value.length; i++) {
        const r = checkValue(spec.itemType, value[i], `${path}[${i}]`, depth + 1);
        if (r) return r;
      }
      return undefined;
    }
    case 'STRUCT': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${path} must be an object`;
      const fields = spec.fields ?? {};
      for (const [k, v] of Object.entries(value)) {
        const f = fields[k];
        if (!f) return `${path}.${k} is not a field of the struct`;
        const r = checkValue(f, v, `${path}.${k}`, depth + 1);
        if (r) return r;
      }
      return undefined;
    }
  }
}

const never = (): boolean => false;

/**
 * The common, certain cases of `checkValue`, as a test prepared once per spec: true only for a plain
 * value `checkValue` accepts (never for one it refuses); false sends the value to `checkValue`. Kept
 * beside it so that the two stay in step (registry/compiled-model.ts uses it on every post).
 */
export function plainValueFits(spec: TypeSpec): (value: unknown) => boolean {
  switch (spec.dataType) {
    case 'INT':
    case 'TIMESTAMP':
    case 'DATE':
      return (v) => typeof v === 'number' && Number.isInteger(v);
    case 'FLOAT':
    case 'DOUBLE':
      return (v) => typeof v === 'number' && Number.isFinite(v);
    case 'BOOL':
      return (v) => typeof v === 'boolean';
    case 'STRING': {
      const max = spec.maxLength;
      return max === undefined ? (v) => typeof v === 'string' : (v) => typeof v === 'string' && v.length <= max;
    }
    default:
      return never;
  }
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}
