import type { FastifyInstance } from 'fastify';
import type { AppStore } from '../../device-management/apps/app-store.js';
import { DeviceMgtError } from '../../device-management/errors.js';
import {
  appPlatforms,
  subscriptionActions,
  subscriptionTargets,
  type AppPlatform,
  type DeviceAppStatus,
  type SubscriptionAction,
  type SubscriptionRecord,
  type SubscriptionTarget,
} from '../../device-management/apps/records.js';
import { needs, pageOf, paging } from '../device-mgt/guard.js';
import { appListQuery } from './publisher.routes.js';

const hexId = { type: 'string', pattern: '^[0-9a-f]{32}$' } as const;
const ident = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' } as const;

/** `timestamp`: an ISO 8601 time with its zone, or epoch milliseconds. */
function scheduledAtOf(t: string | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(t) ? Number(t) : /(Z|[+-]\d\d:\d\d)$/.test(t) ? Date.parse(t) : NaN;
  if (!Number.isFinite(ms)) throw new DeviceMgtError(400, 'timestamp: an ISO 8601 time with a zone (Z or ±hh:mm), or epoch milliseconds');
  return ms;
}

/**
 * The app store's REST (docs/DEVICE-MANAGEMENT.md, "Applications: REST"), after Entgra's
 * /api/application-mgt-store/v1.0: published apps, subscriptions (install, update, uninstall to
 * devices, users, roles or groups, now or at `timestamp`), per-device results.
 */
export async function storeRoutes(app: FastifyInstance, { store }: { store: AppStore }): Promise<void> {
  app.get('/applications', { preHandler: needs('am:store:view'), schema: { querystring: appListQuery } }, async (req) => {
    const q = req.query as { name?: string; category?: string; platform?: AppPlatform; offset?: string; limit?: string };
    const { offset, limit } = pageOf(q);
    return store.listPublished(
      req.dmCaller!.orgId,
      {
        ...(q.name ? { name: q.name } : {}),
        ...(q.category ? { category: q.category } : {}),
        ...(q.platform ? { platform: q.platform } : {}),
      },
      offset,
      limit,
    );
  });

  app.get(
    '/applications/:appId',
    { preHandler: needs('am:store:view'), schema: { params: { type: 'object', properties: { appId: hexId } } } },
    async (req) => {
      const a = await store.publisher.get(req.dmCaller!.orgId, (req.params as { appId: string }).appId);
      if (!a.published) throw new DeviceMgtError(404, `application ${a.id} is not in the store`);
      return { ...a, releases: (await store.publisher.releasesOf(a.id, { state: 'PUBLISHED' })).items };
    },
  );

  app.post(
    '/subscription/:uuid/:targetType/:action',
    {
      preHandler: needs('am:store:subscribe'),
      schema: {
        params: {
          type: 'object',
          properties: { uuid: hexId, targetType: { enum: [...subscriptionTargets] }, action: { enum: [...subscriptionActions] } },
        },
        querystring: { type: 'object', additionalProperties: false, properties: { timestamp: { type: 'string', maxLength: 40 } } },
        body: { type: 'array', minItems: 1, maxItems: 10_000, items: ident },
      },
    },
    async (req, reply) => {
      const p = req.params as { uuid: string; targetType: SubscriptionTarget; action: SubscriptionAction };
      const at = scheduledAtOf((req.query as { timestamp?: string }).timestamp);
      const s = await store.subscribe(req.dmCaller!, p.uuid, {
        action: p.action,
        targetType: p.targetType,
        targets: req.body as string[],
        ...(at !== undefined ? { scheduledAt: at } : {}),
      });
      return reply.status(s.state === 'SCHEDULED' ? 202 : 201).send(s);
    },
  );

  app.get(
    '/subscription/:uuid/devices',
    {
      preHandler: needs('am:store:view'),
      schema: {
        params: { type: 'object', properties: { uuid: hexId } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { enum: ['INSTALL_PENDING', 'INSTALLED', 'INSTALL_FAILED', 'UNINSTALL_PENDING', 'UNINSTALLED', 'UNINSTALL_FAILED'] },
            ...paging,
          },
        },
      },
    },
    async (req) => {
      const q = req.query as { status?: DeviceAppStatus; offset?: string; limit?: string };
      const { offset, limit } = pageOf(q);
      const found = await store.devicesOf(req.dmCaller!.orgId, (req.params as { uuid: string }).uuid, q.status, offset, limit);
      return { devices: found.items, count: found.total };
    },
  );

  app.get(
    '/subscriptions',
    {
      preHandler: needs('am:store:view'),
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { releaseUuid: hexId, state: { enum: ['SCHEDULED', 'RUNNING', 'DONE', 'FAILED', 'CANCELLED'] }, ...paging },
        },
      },
    },
    async (req) => {
      const q = req.query as { releaseUuid?: string; state?: SubscriptionRecord['state']; offset?: string; limit?: string };
      const { offset, limit } = pageOf(q);
      const found = await store.listSubscriptions(
        req.dmCaller!.orgId,
        { ...(q.releaseUuid ? { releaseUuid: q.releaseUuid } : {}), ...(q.state ? { state: q.state } : {}) },
        offset,
        limit,
      );
      return { subscriptions: found.items, count: found.total };
    },
  );

  app.get(
    '/subscriptions/:id',
    { preHandler: needs('am:store:view'), schema: { params: { type: 'object', properties: { id: hexId } } } },
    async (req) => store.subscription(req.dmCaller!.orgId, (req.params as { id: string }).id),
  );

  app.delete(
    '/subscriptions/:id',
    { preHandler: needs('am:store:subscribe'), schema: { params: { type: 'object', properties: { id: hexId } } } },
    async (req) => store.cancel(req.dmCaller!.orgId, (req.params as { id: string }).id),
  );

  app.get(
    '/devices/:type/:id/applications',
    {
      preHandler: needs('am:store:view'),
      schema: { params: { type: 'object', properties: { type: { enum: [...appPlatforms] }, id: ident } } },
    },
    async (req) => {
      const p = req.params as { type: string; id: string };
      const applications = await store.installedOn(req.dmCaller!.orgId, p.type, p.id);
      return { applications, count: applications.length };
    },
  );
}
