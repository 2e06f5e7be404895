import Fastify, { type FastifyInstance } from 'fastify';
import type { Edge } from '../edge.js';
import type { SouthboundDeviceConfig } from '../config/types.js';

/**
 * The edge's local config center: list, bind and unbind sub-devices, see uplink and southbound
 * status. Bound to localhost by default: it is for the installer on site, not for the network.
 */
export async function startConfigCenter(edge: Edge, opts: { host: string; port: number }): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allowUnionTypes: true } } });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 400;
    return reply.status(status).send({ error: err.message });
  });

  app.get('/status', async () => edge.status());
  app.get('/subdevices', async () => edge.status().subDevices);

  app.post(
    '/subdevices',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['deviceKey', 'model', 'transport'],
          properties: {
            deviceKey: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_\\-.]+$' },
            name: { type: 'string', maxLength: 128 },
            model: { type: 'string', minLength: 1 },
            transport: { type: 'object' },
            unitId: { type: 'integer', minimum: 0, maximum: 255 },
            pollIntervalMs: { type: 'integer', minimum: 100 },
            timeoutMs: { type: 'integer', minimum: 50 },
          },
        },
      },
    },
    async (req, reply) => {
      const creds = await edge.bind(req.body as SouthboundDeviceConfig);
      return reply.status(201).send({ deviceKey: creds.deviceKey, assetId: creds.assetId });
    },
  );

  app.delete('/subdevices/:deviceKey', async (req, reply) => {
    const { deviceKey } = req.params as { deviceKey: string };
    if (!(await edge.unbind(deviceKey))) return reply.status(404).send({ error: `${deviceKey} is not bound` });
    return reply.status(204).send();
  });

  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address() as { port: number };
  return { app, url: `http://${opts.host}:${addr.port}` };
}
