import { EnosError, codes } from '@edgehub/shared';
import type { FastifyInstance } from 'fastify';
import { viewOfApplication } from '../registry/applications.js';
import type { Registry } from '../registry/registry.js';
import { ok } from './envelope.js';

// Query values are strings on the wire and the API does not coerce types: page numbers are digits.
const page = {
  pageNo: { type: 'string', pattern: '^[1-9][0-9]{0,6}$', default: '1' },
  pageSize: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|1[0-9][0-9]|200)$', default: '50' },
} as const;

const id = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_\\-]+$' } as const;
const name = { type: 'string', minLength: 1, maxLength: 128 } as const;

type Paged = { pageNo: string; pageSize: string };
const paging = (q: Paged) => ({ offset: (Number(q.pageNo) - 1) * Number(q.pageSize), limit: Number(q.pageSize) });
const paged = <T>(requestId: string, q: Paged, found: { items: T[]; total: number }) => ({
  ...ok(requestId, found.items),
  pagination: { pageNo: Number(q.pageNo), pageSize: Number(q.pageSize), totalSize: found.total, sortedBy: null },
});

/**
 * Administrator API: organizations, applications (service accounts) and registrations.
 * Signed like every other call; only applications flagged admin may use it.
 */
export async function adminRoutes(app: FastifyInstance, { registry }: { registry: Registry }): Promise<void> {
  const config = { admin: true, orgScoped: false };
  const tags = ['admin'];

  app.post(
    '/admin/v1/organizations',
    {
      config,
      schema: {
        tags,
        summary: 'Create an organization',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name, description: { type: 'string', maxLength: 1024 }, orgId: id },
        },
      },
    },
    async (req) => {
      return ok(req.id, await registry.organizations.create(req.body as { name: string; description?: string; orgId?: string }));
    },
  );

  app.get(
    '/admin/v1/organizations',
    {
      config,
      schema: { tags, summary: 'List organizations', querystring: { type: 'object', additionalProperties: false, properties: page } },
    },
    async (req) => {
      const q = req.query as Paged;
      const { offset, limit } = paging(q);
      return paged(req.id, q, await registry.organizations.list(offset, limit));
    },
  );

  app.get(
    '/admin/v1/organizations/:orgId',
    { config, schema: { tags, summary: 'Get an organization', params: { type: 'object', properties: { orgId: id } } } },
    async (req) => {
      const { orgId } = req.params as { orgId: string };
      const org = await registry.organizations.get(orgId);
      if (!org) throw notFound(`Organization ${orgId} not found`);
      return ok(req.id, org);
    },
  );

  app.post(
    '/admin/v1/applications',
    {
      config,
      schema: {
        tags,
        summary: 'Create an application with its service account; the accessSecret is returned only here',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'orgId'],
          properties: { name, orgId: id, admin: { type: 'boolean', default: false } },
        },
      },
    },
    async (req) => {
      const body = req.body as { name: string; orgId: string; admin: boolean };
      await registry.organizations.require(body.orgId);
      const created = await registry.applications.create(body);
      return ok(req.id, { ...viewOfApplication(created), accessSecret: created.accessSecret });
    },
  );

  app.get(
    '/admin/v1/applications',
    {
      config,
      schema: {
        tags,
        summary: 'List applications (never their secrets)',
        querystring: { type: 'object', additionalProperties: false, properties: { ...page, orgId: id } },
      },
    },
    async (req) => {
      const q = req.query as Paged & { orgId?: string };
      const { offset, limit } = paging(q);
      const found = await registry.applications.list(q.orgId, offset, limit);
      return paged(req.id, q, { items: found.items.map(viewOfApplication), total: found.total });
    },
  );

  app.post(
    '/admin/v1/applications/:appId/rotate-secret',
    {
      config,
      schema: {
        tags,
        summary: 'Issue a new accessSecret; the old one stops working',
        params: { type: 'object', properties: { appId: id } },
      },
    },
    async (req) => {
      const { appId } = req.params as { appId: string };
      const updated = await registry.applications.rotateSecret(appId);
      return ok(req.id, { ...viewOfApplication(updated), accessSecret: updated.accessSecret });
    },
  );

  const registrationBody = {
    type: 'object',
    additionalProperties: false,
    required: ['orgId', 'appId'],
    properties: { orgId: id, appId: id },
  };

  app.post(
    '/admin/v1/registrations',
    { config, schema: { tags, summary: 'Register an application in an organization', body: registrationBody } },
    async (req) => {
      const { orgId, appId } = req.body as { orgId: string; appId: string };
      await registry.organizations.require(orgId);
      await registry.applications.require(appId);
      return ok(req.id, await registry.applications.register(orgId, appId));
    },
  );

  app.delete(
    '/admin/v1/registrations',
    { config, schema: { tags, summary: 'Remove an application from an organization', querystring: registrationBody } },
    async (req) => {
      const { orgId, appId } = req.query as { orgId: string; appId: string };
      if (!(await registry.applications.unregister(orgId, appId))) throw notFound(`Application ${appId} is not registered in ${orgId}`);
      return ok(req.id, null);
    },
  );

  app.get(
    '/admin/v1/registrations',
    {
      config,
      schema: {
        tags,
        summary: 'List registrations',
        querystring: { type: 'object', additionalProperties: false, properties: { ...page, orgId: id, appId: id } },
      },
    },
    async (req) => {
      const q = req.query as Paged & { orgId?: string; appId?: string };
      const { offset, limit } = paging(q);
      return paged(req.id, q, await registry.applications.registrationsOf(q, offset, limit));
    },
  );
}

function notFound(msg: string): EnosError {
  return new EnosError(codes.notFound, msg);
}
