import type { FastifyInstance } from 'fastify';
import type { DeviceManagement } from '../../device-management/device-management.js';
import type { DeviceTypes } from '../../device-types/plugins.js';
import { DeviceMgtError } from '../../device-management/errors.js';
import { needs, pageOf, paging } from './guard.js';

/** Activities and device types (docs/DEVICE-MANAGEMENT.md, "Management REST"). */
export async function dmActivityRoutes(app: FastifyInstance, { dm, types }: { dm: DeviceManagement; types: DeviceTypes }): Promise<void> {
  app.get(
    '/activities/:id',
    {
      preHandler: needs('dm:devices:ops:view'),
      schema: { params: { type: 'object', properties: { id: { type: 'string', pattern: '^ACTIVITY_[0-9]{1,32}$' } } } },
    },
    async (req) => dm.activity(req.dmCaller!.orgId, (req.params as { id: string }).id),
  );

  // Every operation of the organization, all device types side by side (docs/DEVICE-MANAGEMENT.md, "Management REST").
  app.get(
    '/operations',
    {
      preHandler: needs('dm:devices:ops:view'),
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$' },
            operationStatus: { enum: ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'ERROR', 'NOTNOW', 'REPEATED', 'TIMEOUT'] },
            since: { type: 'string', pattern: '^[0-9]{1,15}$' },
            ...paging,
          },
        },
      },
    },
    async (req) => {
      const q = req.query as { type?: string; operationStatus?: string; since?: string; offset?: string; limit?: string };
      if (q.type !== undefined && !types.has(q.type)) throw new DeviceMgtError(404, `device type ${q.type} not found`);
      const { offset, limit } = pageOf(q);
      return dm.allOperations(
        req.dmCaller!.orgId,
        {
          ...(q.type ? { type: q.type } : {}),
          ...(q.operationStatus ? { status: q.operationStatus } : {}),
          ...(q.since ? { since: Number(q.since) } : {}),
        },
        offset,
        limit,
      );
    },
  );

  const view = (t: ReturnType<DeviceTypes['list']>[number]) => ({
    name: t.id,
    delivery: t.delivery,
    features: t.features,
    deadlines: t.deadlines,
  });
  app.get('/device-types', { preHandler: needs('dm:device-types:view') }, async () => types.list().map(view));
  app.get('/device-types/:type/features', { preHandler: needs('dm:device-types:view') }, async (req) => {
    const t = types.get((req.params as { type: string }).type);
    if (!t) throw new DeviceMgtError(404, 'device type not found');
    return t.features;
  });
}
