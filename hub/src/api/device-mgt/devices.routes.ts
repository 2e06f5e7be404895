import type { FastifyInstance } from 'fastify';
import { DeviceManagement, viewOfDevice, type OperationRequest } from '../../device-management/device-management.js';
import { DeviceMgtError } from '../../device-management/errors.js';
import { enrolmentStatuses, ownerships, type EnrolmentStatus, type Ownership } from '../../device-management/records.js';
import { ENOS_MQTT } from '../../device-types/enos-mqtt/plugin.js';
import type { DeviceTypes } from '../../device-types/plugins.js';
import { needs, pageOf, paging } from './guard.js';

const ident = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' } as const;
const typeParam = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$' } as const;
const properties = {
  type: 'array',
  maxItems: 100,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'value'],
    properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, value: { type: 'string', maxLength: 4096 } },
  },
} as const;
const toMap = (p?: { name: string; value: string }[]) => (p ? Object.fromEntries(p.map((x) => [x.name, x.value])) : undefined);

/** Devices, their operations, and enrollment (docs/DEVICE-MANAGEMENT.md, "Management REST"). */
export async function dmDeviceRoutes(app: FastifyInstance, { dm, types }: { dm: DeviceManagement; types: DeviceTypes }): Promise<void> {
  const enrollable = (type: string) => {
    if (type === ENOS_MQTT)
      throw new DeviceMgtError(400, 'enos-mqtt devices are created in the IoT registry (Connection Service), not enrolled here');
    if (!types.has(type)) throw new DeviceMgtError(404, `device type ${type} not found`);
  };

  app.get(
    '/devices',
    {
      preHandler: needs('dm:devices:view'),
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: typeParam,
            status: { enum: [...enrolmentStatuses] },
            ownership: { enum: [...ownerships] },
            user: ident,
            groupId: ident,
            ...paging,
          },
        },
      },
    },
    async (req) => {
      const q = req.query as {
        type?: string;
        status?: EnrolmentStatus;
        ownership?: Ownership;
        user?: string;
        groupId?: string;
        offset?: string;
        limit?: string;
      };
      const { offset, limit } = pageOf(q);
      return dm.list(
        req.dmCaller!.orgId,
        {
          ...(q.type ? { type: q.type } : {}),
          ...(q.status ? { status: q.status } : {}),
          ...(q.ownership ? { ownership: q.ownership } : {}),
          ...(q.user ? { owner: q.user } : {}),
          ...(q.groupId ? { groupId: q.groupId } : {}),
        },
        offset,
        limit,
      );
    },
  );

  app.get(
    '/devices/:type/:id',
    { preHandler: needs('dm:devices:view'), schema: { params: { type: 'object', properties: { type: typeParam, id: ident } } } },
    async (req) => {
      const p = req.params as { type: string; id: string };
      return dm.get(req.dmCaller!.orgId, p.type, p.id);
    },
  );

  app.get(
    '/devices/:type/:id/operations',
    {
      preHandler: needs('dm:devices:ops:view'),
      schema: {
        params: { type: 'object', properties: { type: typeParam, id: ident } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            operationStatus: { enum: ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'ERROR', 'NOTNOW', 'REPEATED', 'TIMEOUT'] },
            ...paging,
          },
        },
      },
    },
    async (req) => {
      const p = req.params as { type: string; id: string };
      const q = req.query as { operationStatus?: string; offset?: string; limit?: string };
      const { offset, limit } = pageOf(q);
      return dm.operations(req.dmCaller!.orgId, p.type, p.id, q.operationStatus ? { status: q.operationStatus } : {}, offset, limit);
    },
  );

  app.post(
    '/devices/:type/operations',
    {
      preHandler: needs('dm:devices:ops:add'),
      schema: {
        params: { type: 'object', properties: { type: typeParam } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['operation'],
          properties: {
            deviceIdentifiers: { type: 'array', maxItems: 10_000, items: ident },
            groupIds: { type: 'array', maxItems: 100, items: ident },
            pendingTtlSeconds: { type: 'integer', minimum: 1 },
            operation: {
              type: 'object',
              additionalProperties: false,
              required: ['code'],
              properties: {
                code: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' },
                type: { enum: ['COMMAND', 'PROFILE', 'CONFIG', 'INFO', 'MESSAGE', 'POLICY'] },
                payload: { type: 'object', maxProperties: 200 },
              },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const p = req.params as { type: string };
      return reply.status(201).send(await dm.addOperation(req.dmCaller!, p.type, req.body as OperationRequest));
    },
  );

  const enrollBody = {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'deviceIdentifier'],
    properties: {
      type: typeParam,
      deviceIdentifier: ident,
      name: { type: 'string', minLength: 1, maxLength: 256 },
      description: { type: 'string', maxLength: 1024 },
      owner: ident,
      ownership: { enum: [...ownerships] },
      properties,
    },
  } as const;

  app.post('/device/agent/enroll', { preHandler: needs('dm:devices:manage'), schema: { body: enrollBody } }, async (req, reply) => {
    const b = req.body as {
      type: string;
      deviceIdentifier: string;
      name?: string;
      description?: string;
      owner?: string;
      ownership?: Ownership;
      properties?: { name: string; value: string }[];
    };
    enrollable(b.type);
    const props = toMap(b.properties);
    const d = await dm.devices.enroll({
      orgId: req.dmCaller!.orgId,
      type: b.type,
      deviceIdentifier: b.deviceIdentifier,
      owner: b.owner ?? req.dmCaller!.clientId,
      ...(b.name ? { name: b.name } : {}),
      ...(b.description ? { description: b.description } : {}),
      ...(b.ownership ? { ownership: b.ownership } : {}),
      ...(props ? { properties: props } : {}),
    });
    return reply.status(201).send(viewOfDevice(d));
  });

  app.put(
    '/device/agent/enroll/:type/:id',
    {
      preHandler: needs('dm:devices:manage'),
      schema: {
        params: { type: 'object', properties: { type: typeParam, id: ident } },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: enrollBody.properties.name,
            description: enrollBody.properties.description,
            owner: ident,
            ownership: enrollBody.properties.ownership,
            properties,
          },
        },
      },
    },
    async (req) => {
      const p = req.params as { type: string; id: string };
      enrollable(p.type);
      const b = req.body as {
        name?: string;
        description?: string;
        owner?: string;
        ownership?: Ownership;
        properties?: { name: string; value: string }[];
      };
      const props = toMap(b.properties);
      return viewOfDevice(
        await dm.devices.update(req.dmCaller!.orgId, p.type, p.id, {
          ...(b.name ? { name: b.name } : {}),
          ...(b.description !== undefined ? { description: b.description } : {}),
          ...(b.owner ? { owner: b.owner } : {}),
          ...(b.ownership ? { ownership: b.ownership } : {}),
          ...(props ? { properties: props } : {}),
        }),
      );
    },
  );

  app.delete(
    '/device/agent/enroll/:type/:id',
    { preHandler: needs('dm:devices:manage'), schema: { params: { type: 'object', properties: { type: typeParam, id: ident } } } },
    async (req) => {
      const p = req.params as { type: string; id: string };
      enrollable(p.type);
      const d = await dm.devices.get(req.dmCaller!.orgId, p.type, p.id);
      return viewOfDevice((await dm.devices.disenroll(d.id)) ?? d);
    },
  );
}
