import { EnosError, codes } from '@edgehub/shared';
import type { FastifyInstance } from 'fastify';
import { fieldTypes, MAX_FIELDS, MAX_FRAME_BYTES, MAX_FRAMES } from '../codecs/binary-layout.js';
import type { CodecConfig, ProductCodecs } from '../codecs/product-codecs.js';
import type { Registry } from '../registry/registry.js';
import { connectRoute } from './connect-route.js';
import { ok } from './envelope.js';
import { actionQuery, keySchema } from './schemas.js';

const endian = { type: 'string', enum: ['big', 'little'] } as const;
const offset = { type: 'integer', minimum: 0, maximum: MAX_FRAME_BYTES } as const;
const name = { type: 'string', minLength: 1, maxLength: 256 } as const;
const field = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'offset', 'type'],
  properties: { name, offset, type: { type: 'string', enum: fieldTypes }, endian, scale: { type: 'number' } },
} as const;
const id = {
  type: 'object',
  additionalProperties: false,
  required: ['offset', 'type'],
  properties: { offset, type: { type: 'string', enum: ['uint8', 'uint16', 'uint32'] }, endian },
} as const;
const frameBase = {
  type: { type: 'integer', minimum: 0, maximum: 255 },
  length: { type: 'integer', minimum: 1, maximum: MAX_FRAME_BYTES },
  id,
  fields: { type: 'array', maxItems: MAX_FIELDS, items: field },
} as const;

/** The codec body: `{type:"cbor"}` or `{type:"binary", layout:{…}}` (docs/PROTOCOL.md §7.1). */
const codecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['cbor', 'binary'] },
    layout: {
      type: 'object',
      additionalProperties: false,
      required: ['frames'],
      properties: {
        endian,
        typeOffset: offset,
        frames: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_FRAMES,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['method', 'length', 'fields'],
            properties: {
              ...frameBase,
              method: name,
              time: {
                type: 'object',
                additionalProperties: false,
                required: ['offset', 'type'],
                properties: { offset, type: { type: 'string', enum: ['uint32', 'float64'] }, endian },
              },
            },
          },
        },
        commands: {
          type: 'object',
          maxProperties: MAX_FRAMES,
          additionalProperties: { type: 'object', additionalProperties: false, required: ['length', 'fields'], properties: frameBase },
        },
      },
    },
  },
} as const;

/**
 * Ours: the raw-payload codec of a Custom product (EnOS configures it as a script, which this hub
 * deliberately does not run: a codec here is data). Set, read and removed per product.
 */
export async function codecRoutes(
  app: FastifyInstance,
  { registry, codecs }: { registry: Registry; codecs: ProductCodecs },
): Promise<void> {
  const tags = ['products'];
  const productKeyQuery = { productKey: keySchema };

  connectRoute(app, {
    method: 'POST',
    resource: 'products',
    action: 'setCodec',
    schema: {
      tags,
      summary: 'Set the codec of a Custom product: built-in CBOR, or a declarative binary layout',
      querystring: actionQuery('setCodec', productKeyQuery, ['productKey']),
      body: { type: 'object', additionalProperties: false, required: ['codec'], properties: { codec: codecSchema } },
    },
    handler: async (req) => {
      const { productKey } = req.query as { productKey: string };
      const product = await registry.products.require(req.orgId!, productKey);
      if (product.dataFormat !== 'Custom')
        throw new EnosError(
          codes.invalidArgument,
          `Invalid Argument productKey: product ${productKey} has dataFormat ${product.dataFormat}; only Custom products take a raw codec`,
        );
      const codec = (req.body as { codec: CodecConfig & { layout?: unknown } }).codec;
      if (codec.type === 'binary' && !codec.layout)
        throw new EnosError(codes.invalidArgument, 'Invalid Argument codec.layout: a binary codec needs a layout');
      if (codec.type === 'cbor' && codec.layout !== undefined)
        throw new EnosError(codes.invalidArgument, 'Invalid Argument codec.layout: the CBOR codec takes no layout');
      const r = await codecs.set(req.orgId!, productKey, codec);
      return ok(req.id, { productKey, codec: r.codec, updateTime: r.updateTime });
    },
  });

  connectRoute(app, {
    method: 'GET',
    resource: 'products',
    action: 'getCodec',
    schema: { tags, summary: 'The codec of a Custom product', querystring: actionQuery('getCodec', productKeyQuery, ['productKey']) },
    handler: async (req) => {
      const { productKey } = req.query as { productKey: string };
      await registry.products.require(req.orgId!, productKey);
      const r = await codecs.get(req.orgId!, productKey);
      if (!r) throw new EnosError(codes.notFound, `Object not found: product ${productKey} has no codec`);
      return ok(req.id, { productKey, codec: r.codec, updateTime: r.updateTime });
    },
  });
}
