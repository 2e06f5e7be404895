import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EnosError } from '@edgehub/shared';
import { DeviceMgtError } from '../../device-management/errors.js';
import type { AndroidAgentService } from './agent-service.js';
import { AndroidAgentError } from './errors.js';

export const ANDROID_BASE = '/api/device-mgt/android/v1.0';

const ident = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' } as const;
export const propertiesSchema = {
  type: 'array',
  maxItems: 100,
  items: {
    type: 'object',
    required: ['name', 'value'],
    properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, value: { type: 'string', maxLength: 4096 } },
  },
} as const;
export const toMap = (p?: { name: string; value: string }[]): Record<string, string> =>
  p ? Object.fromEntries(p.map((x) => [x.name, x.value])) : {};

/** Answers agent errors as `{code, reason, message}` (docs/DEVICE-MANAGEMENT.md, "Android: errors"). */
export function installAgentErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err instanceof AndroidAgentError)
      return reply.status(err.httpStatus).send({ code: err.httpStatus, reason: err.reason, message: err.message });
    // The REST server's JSON parser refuses a body that is not JSON with an EnOS error.
    if (err instanceof EnosError) return reply.status(400).send({ code: 400, reason: 'MalformedBody', message: err.message });
    if (err instanceof DeviceMgtError) return reply.status(err.status).send({ code: err.status, reason: 'Refused', message: err.message });
    if (err.validation || err.statusCode === 400)
      return reply.status(400).send({ code: 400, reason: 'MalformedBody', message: err.message });
    if (err.statusCode === 413 || err.statusCode === 415)
      return reply.status(err.statusCode).send({ code: err.statusCode, reason: 'MalformedBody', message: err.message });
    req.log.error({ err }, 'android agent call failed');
    return reply.status(500).send({ code: 500, reason: 'Internal', message: 'internal error' });
  });
}

/**
 * The agent side of the Entgra Android API (docs/DEVICE-MANAGEMENT.md, "Android: agent protocol"),
 * authenticated by the device's own bearer token from enrollment. Enrollment itself
 * (`POST …/devices`) needs an OAuth2 token and lives with the admin routes.
 */
export async function androidAgentRoutes(app: FastifyInstance, { service }: { service: AndroidAgentService }): Promise<void> {
  installAgentErrors(app);
  const params = { type: 'object', properties: { id: ident } } as const;
  const device = (req: FastifyRequest) => service.authenticate((req.params as { id: string }).id, req.headers.authorization);

  app.put(`${ANDROID_BASE}/devices/:id/pending-operations`, { schema: { params } }, async (req, reply) => {
    const d = await device(req);
    return reply.status(201).send(await service.exchange(d, req.body));
  });

  app.get(`${ANDROID_BASE}/devices/:id/status`, { schema: { params } }, async (req) => {
    const d = await device(req);
    return { deviceIdentifier: d.deviceIdentifier, enrolled: true, status: d.status };
  });

  app.put(
    `${ANDROID_BASE}/devices/:id`,
    {
      schema: {
        params,
        body: { type: 'object', properties: { name: { type: 'string', minLength: 1, maxLength: 256 }, properties: propertiesSchema } },
      },
    },
    async (req) => {
      const d = await device(req);
      const b = req.body as { name?: string; properties?: { name: string; value: string }[] };
      const updated = await service.modify(d, toMap(b.properties), b.name);
      return { deviceIdentifier: updated.deviceIdentifier, status: updated.status };
    },
  );

  app.delete(`${ANDROID_BASE}/devices/:id`, { schema: { params } }, async (req) => {
    const d = await device(req);
    await service.disenroll(d);
    return { deviceIdentifier: d.deviceIdentifier, status: 'REMOVED' };
  });
}
