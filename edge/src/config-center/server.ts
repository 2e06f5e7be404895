import Fastify, { type FastifyInstance } from 'fastify';
import { BindError, type Edge } from '../edge.js';
import { requireBearerToken } from './auth.js';

/**
 * The edge's local config center: list, bind and unbind sub-devices, see uplink and southbound
 * status and the readings the hub refused. Bound to 127.0.0.1 by default (it is for the installer
 * on site, not for the network) and every request needs the Bearer token (docs/ARCHITECTURE.md,
 * "Edge config center").
 */
export async function startConfigCenter(
  edge: Edge,
  opts: { host: string; port: number; token?: string },
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err instanceof BindError ? err.status : err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    return reply.status(status).send({ error: err.message });
  });
  requireBearerToken(app, opts.token ?? edge.config.configCenter.token);

  app.get('/status', async () => edge.status());
  app.get('/subdevices', async () => edge.status().subDevices);
  // The newest readings the hub refused or skipped (`?limit=`, default 100, at most 1000).
  app.get('/refused', async (req) => {
    const limit = Math.min(1000, Math.max(1, Number.parseInt((req.query as { limit?: string }).limit ?? '100', 10) || 100));
    return { count: edge.refused.count, file: edge.refused.file, newest: await edge.refused.newest(limit) };
  });

  // The body is checked by the edge itself, against the config file's schema, with errors naming the key.
  app.post('/subdevices', async (req, reply) => {
    const creds = await edge.bind(req.body);
    return reply.status(201).send({ deviceKey: creds.deviceKey, assetId: creds.assetId });
  });

  app.delete('/subdevices/:deviceKey', async (req, reply) => {
    const { deviceKey } = req.params as { deviceKey: string };
    if (!(await edge.unbind(deviceKey))) return reply.status(404).send({ error: `${deviceKey} is not bound` });
    return reply.status(204).send();
  });

  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address() as { port: number };
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { app, url: `http://${host}:${addr.port}` };
}
