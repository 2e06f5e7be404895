import type { FastifyInstance } from 'fastify';
import type { DeviceManagement } from '../../device-management/device-management.js';
import type { DeviceTypes } from '../../device-types/plugins.js';
import { DeviceMgtError } from '../../device-management/errors.js';
import { needs } from './guard.js';

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
