import type { FastifyInstance } from 'fastify';
import { viewOfDevice, type DeviceManagement } from '../../device-management/device-management.js';
import { DeviceMgtError } from '../../device-management/errors.js';
import type { PolicyInput, Policies } from '../../device-management/policies/policies.js';
import { complianceModes, type ComplianceStatus, type PolicyRecord } from '../../device-management/policies/records.js';
import { ownerships } from '../../device-management/records.js';
import { needs, pageOf, paging } from './guard.js';

const id = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' } as const;
const ident = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' } as const;
const typeParam = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$' } as const;
const names = { type: 'array', maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 128 } } as const;
const idList = { type: 'array', minItems: 1, maxItems: 1000, items: id } as const;

const policyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['policyName', 'profile'],
  properties: {
    policyName: { type: 'string', minLength: 1, maxLength: 128 },
    description: { type: 'string', maxLength: 1024 },
    compliance: { enum: [...complianceModes] },
    ownershipType: { enum: ['ANY', ...ownerships] },
    profile: {
      type: 'object',
      additionalProperties: false,
      required: ['deviceType', 'profileFeaturesList'],
      properties: {
        profileName: { type: 'string', minLength: 1, maxLength: 128 },
        deviceType: typeParam,
        profileFeaturesList: {
          type: 'array',
          minItems: 1,
          maxItems: 100,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['featureCode'],
            properties: {
              featureCode: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Z0-9_-]+$' },
              content: { type: 'object', maxProperties: 100 },
            },
          },
        },
      },
    },
    deviceIdentifiers: {
      type: 'array',
      maxItems: 10_000,
      items: {
        anyOf: [ident, { type: 'object', additionalProperties: false, required: ['id'], properties: { id: ident, type: typeParam } }],
      },
    },
    deviceGroups: { type: 'array', maxItems: 1000, items: id },
    users: names,
    roles: names,
  },
} as const;

/** A policy as the REST shows it (Entgra Policy: profile with profileFeaturesList, assignment lists). */
export function viewOfPolicy(p: PolicyRecord) {
  return {
    id: p.id,
    policyName: p.policyName,
    description: p.description,
    compliance: p.compliance,
    ownershipType: p.ownershipType,
    active: p.active,
    updated: p.updated,
    priority: p.priority,
    version: p.version,
    profile: { profileName: p.profile.profileName, deviceType: p.deviceType, profileFeaturesList: p.profile.features },
    ...p.assignment,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    published: p.published ? { version: p.published.version, at: p.published.at, active: p.published.active } : null,
  };
}

/**
 * Policies (docs/DEVICE-MANAGEMENT.md, "Policies: REST"), after Entgra's /policies paths, plus the
 * compliance views of devices. Reading needs dm:policies:view, changing dm:policies:manage.
 */
export async function dmPolicyRoutes(app: FastifyInstance, { policies, dm }: { policies: Policies; dm: DeviceManagement }): Promise<void> {
  const view = needs('dm:policies:view');
  const manage = needs('dm:policies:manage');

  app.post('/policies', { preHandler: manage, schema: { body: policyBody } }, async (req, reply) =>
    reply.status(201).send(viewOfPolicy(await policies.create(req.dmCaller!, req.body as PolicyInput))),
  );

  app.get(
    '/policies',
    {
      preHandler: view,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            deviceType: typeParam,
            status: { enum: ['active', 'inactive'] },
            name: { type: 'string', maxLength: 128 },
            ...paging,
          },
        },
      },
    },
    async (req) => {
      const q = req.query as { deviceType?: string; status?: 'active' | 'inactive'; name?: string; offset?: string; limit?: string };
      const { offset, limit } = pageOf(q);
      const found = await policies.list(
        req.dmCaller!.orgId,
        {
          ...(q.deviceType ? { deviceType: q.deviceType } : {}),
          ...(q.status ? { active: q.status === 'active' } : {}),
          ...(q.name ? { name: q.name } : {}),
        },
        offset,
        limit,
      );
      return { policies: found.items.map(viewOfPolicy), count: found.total };
    },
  );

  app.put('/policies/apply-changes', { preHandler: manage }, async (req) => policies.applyChanges(req.dmCaller!));

  app.put(
    '/policies/priorities',
    {
      preHandler: manage,
      schema: {
        body: {
          type: 'array',
          minItems: 1,
          maxItems: 1000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'priority'],
            properties: { id, priority: { type: 'integer', minimum: 1, maximum: 100_000 } },
          },
        },
      },
    },
    async (req) => {
      await policies.setPriorities(req.dmCaller!, req.body as { id: string; priority: number }[]);
      return { updated: true };
    },
  );

  for (const [path, action] of [
    ['activate-policy', 'activate'],
    ['deactivate-policy', 'deactivate'],
    ['remove-policy', 'remove'],
  ] as const) {
    app.post(`/policies/${path}`, { preHandler: manage, schema: { body: idList } }, async (req) => {
      const ids = req.body as string[];
      if (action === 'remove') await policies.remove(req.dmCaller!, ids);
      else await policies.setActive(req.dmCaller!, ids, action === 'activate');
      return { updated: true };
    });
  }

  app.get(
    '/policies/effective-policy/:type/:id',
    { preHandler: view, schema: { params: { type: 'object', properties: { type: typeParam, id: ident } } } },
    async (req) => {
      const p = req.params as { type: string; id: string };
      return viewOfPolicy(await policies.effective(req.dmCaller!.orgId, p.type, p.id));
    },
  );

  app.get(
    '/policies/notifications',
    { preHandler: view, schema: { querystring: { type: 'object', additionalProperties: false, properties: paging } } },
    async (req) => {
      const { offset, limit } = pageOf(req.query as { offset?: string; limit?: string });
      const found = await policies.listNotifications(req.dmCaller!.orgId, offset, limit);
      return { notifications: found.items, count: found.total };
    },
  );

  app.get('/policies/:policyId', { preHandler: view, schema: { params: { type: 'object', properties: { policyId: id } } } }, async (req) =>
    viewOfPolicy(await policies.get(req.dmCaller!.orgId, (req.params as { policyId: string }).policyId)),
  );

  app.put(
    '/policies/:policyId',
    { preHandler: manage, schema: { params: { type: 'object', properties: { policyId: id } }, body: policyBody } },
    async (req) =>
      viewOfPolicy(await policies.update(req.dmCaller!, (req.params as { policyId: string }).policyId, req.body as PolicyInput)),
  );

  app.get(
    '/devices/:type/:id/compliance-data',
    { preHandler: view, schema: { params: { type: 'object', properties: { type: typeParam, id: ident } } } },
    async (req) => {
      const p = req.params as { type: string; id: string };
      return policies.compliance(req.dmCaller!.orgId, p.type, p.id);
    },
  );

  app.get(
    '/devices/compliance/:status',
    {
      preHandler: view,
      schema: {
        params: { type: 'object', properties: { status: { enum: ['PENDING', 'COMPLIANT', 'NON_COMPLIANT'] } } },
        querystring: { type: 'object', additionalProperties: false, properties: { policy: id, ...paging } },
      },
    },
    async (req) => {
      const q = req.query as { policy?: string; offset?: string; limit?: string };
      const { offset, limit } = pageOf(q);
      const found = await policies.listCompliance(
        req.dmCaller!.orgId,
        { status: (req.params as { status: ComplianceStatus }).status, ...(q.policy ? { policyId: q.policy } : {}) },
        offset,
        limit,
      );
      return { devices: found.items, count: found.total };
    },
  );

  // Entgra's changestatus, here for what a BLOCK policy does: an administrator lifts the block (ACTIVE).
  app.put(
    '/devices/:type/:id/changestatus',
    {
      preHandler: needs('dm:devices:manage'),
      schema: {
        params: { type: 'object', properties: { type: typeParam, id: ident } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['newStatus'],
          properties: { newStatus: { enum: ['ACTIVE', 'INACTIVE', 'BLOCKED'] } },
        },
      },
    },
    async (req) => {
      const p = req.params as { type: string; id: string };
      const { newStatus } = req.query as { newStatus: 'ACTIVE' | 'INACTIVE' | 'BLOCKED' };
      const d = await dm.devices.get(req.dmCaller!.orgId, p.type, p.id);
      if (d.status === 'REMOVED') throw new DeviceMgtError(409, `device ${p.type}/${p.id} is disenrolled`);
      return viewOfDevice(await dm.devices.update(req.dmCaller!.orgId, p.type, p.id, { status: newStatus }));
    },
  );
}
