import type { FastifyInstance } from 'fastify';
import type { DeviceGroups } from '../../device-management/groups.js';
import { needs, pageOf, paging } from './guard.js';

const idParams = { type: 'object', properties: { groupId: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const members = {
  type: 'array',
  minItems: 1,
  maxItems: 1000,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'type'],
    properties: { id: { type: 'string', minLength: 1, maxLength: 128 }, type: { type: 'string', minLength: 1, maxLength: 64 } },
  },
} as const;

/** Device groups (docs/DEVICE-MANAGEMENT.md, "Groups"), after Entgra's /groups paths. */
export async function dmGroupRoutes(app: FastifyInstance, { groups }: { groups: DeviceGroups }): Promise<void> {
  app.post(
    '/groups',
    {
      preHandler: needs('dm:groups:manage'),
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, description: { type: 'string', maxLength: 1024 } },
        },
      },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(await groups.create(req.dmCaller!.orgId, req.body as { name: string; description?: string }, req.dmCaller!.clientId)),
  );

  app.get(
    '/groups',
    { preHandler: needs('dm:groups:view'), schema: { querystring: { type: 'object', additionalProperties: false, properties: paging } } },
    async (req) => {
      const { offset, limit } = pageOf(req.query as { offset?: string; limit?: string });
      const found = await groups.list(req.dmCaller!.orgId, offset, limit);
      return { deviceGroups: found.items, count: found.total };
    },
  );

  app.get('/groups/id/:groupId', { preHandler: needs('dm:groups:view'), schema: { params: idParams } }, async (req) =>
    groups.get(req.dmCaller!.orgId, (req.params as { groupId: string }).groupId),
  );

  app.put(
    '/groups/id/:groupId',
    {
      preHandler: needs('dm:groups:manage'),
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, description: { type: 'string', maxLength: 1024 } },
        },
      },
    },
    async (req) =>
      groups.update(req.dmCaller!.orgId, (req.params as { groupId: string }).groupId, req.body as { name?: string; description?: string }),
  );

  app.delete('/groups/id/:groupId', { preHandler: needs('dm:groups:manage'), schema: { params: idParams } }, async (req, reply) => {
    await groups.delete(req.dmCaller!.orgId, (req.params as { groupId: string }).groupId);
    return reply.status(200).send({ deleted: true });
  });

  for (const [path, add] of [
    ['add', true],
    ['remove', false],
  ] as const) {
    app.post(
      `/groups/id/:groupId/devices/${path}`,
      { preHandler: needs('dm:groups:manage'), schema: { params: idParams, body: members } },
      async (req) => {
        await groups.change(
          req.dmCaller!.orgId,
          (req.params as { groupId: string }).groupId,
          req.body as { id: string; type: string }[],
          add,
        );
        return { updated: true };
      },
    );
  }
}
