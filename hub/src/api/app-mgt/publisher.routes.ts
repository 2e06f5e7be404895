import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { DeviceMgtError } from '../../device-management/errors.js';
import { nextStates, reviewStates } from '../../device-management/apps/lifecycle.js';
import type { AppFilter, AppPublisher, NewApp, NewRelease } from '../../device-management/apps/publisher.js';
import { appPlatforms, lifecycleStates, type LifecycleState } from '../../device-management/apps/records.js';
import { needs, pageOf, paging } from '../device-mgt/guard.js';

const hexId = { type: 'string', pattern: '^[0-9a-f]{32}$' } as const;
const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
export const appListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { name: text(128), category: text(64), platform: { enum: [...appPlatforms] }, ...paging },
} as const;

/**
 * The app publisher's REST (docs/DEVICE-MANAGEMENT.md, "Applications: REST"), after Entgra's
 * /api/application-mgt-publisher/v1.0: enterprise apps, releases per platform, artifacts, life cycle.
 */
export async function publisherRoutes(app: FastifyInstance, { publisher }: { publisher: AppPublisher }): Promise<void> {
  // An artifact is streamed to disk (its size limit is checked while it arrives), never buffered whole.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.post(
    '/applications/ent-app',
    {
      preHandler: needs('am:publisher:manage'),
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 128, pattern: '\\S' },
            description: { type: 'string', maxLength: 4096 },
            category: text(64),
            tags: { type: 'array', maxItems: 32, items: text(64) },
          },
        },
      },
    },
    async (req, reply) => reply.status(201).send(await publisher.create(req.dmCaller!.orgId, req.body as NewApp, req.dmCaller!.clientId)),
  );

  app.get(
    '/applications',
    {
      preHandler: needs('am:publisher:view'),
      schema: { querystring: { ...appListQuery, properties: { ...appListQuery.properties, state: { enum: [...lifecycleStates] } } } },
    },
    async (req) => {
      const q = req.query as AppFilter & { offset?: string; limit?: string };
      const { offset, limit } = pageOf(q);
      const found = await publisher.list(
        req.dmCaller!.orgId,
        {
          ...(q.name ? { name: q.name } : {}),
          ...(q.category ? { category: q.category } : {}),
          ...(q.platform ? { platform: q.platform } : {}),
          ...(q.state ? { state: q.state } : {}),
        },
        offset,
        limit,
      );
      return { applications: found.items, count: found.total };
    },
  );

  app.get(
    '/applications/:appId',
    { preHandler: needs('am:publisher:view'), schema: { params: { type: 'object', properties: { appId: hexId } } } },
    async (req) => {
      const a = await publisher.get(req.dmCaller!.orgId, (req.params as { appId: string }).appId);
      return { ...a, releases: (await publisher.releasesOf(a.id)).items };
    },
  );

  app.post(
    '/applications/:appId/releases',
    {
      preHandler: needs('am:publisher:manage'),
      schema: {
        params: { type: 'object', properties: { appId: hexId } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['platform', 'packageName', 'version'],
          properties: {
            platform: { enum: [...appPlatforms] },
            // Android package name / iOS bundle identifier: dot-separated identifiers.
            packageName: { type: 'string', maxLength: 255, pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)+$' },
            version: { type: 'string', maxLength: 64, pattern: '^[0-9A-Za-z][0-9A-Za-z.+_-]*$' },
            description: { type: 'string', maxLength: 4096 },
            artifactUrl: { type: 'string', maxLength: 2048, pattern: '^https://[^\\s]+$' },
          },
        },
      },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(
          await publisher.addRelease(
            req.dmCaller!.orgId,
            (req.params as { appId: string }).appId,
            req.body as NewRelease,
            req.dmCaller!.clientId,
          ),
        ),
  );

  app.get(
    '/applications/release/:uuid',
    { preHandler: needs('am:publisher:view'), schema: { params: { type: 'object', properties: { uuid: hexId } } } },
    async (req) => publisher.release(req.dmCaller!.orgId, (req.params as { uuid: string }).uuid),
  );

  app.put(
    '/applications/release/:uuid/artifact',
    {
      preHandler: needs('am:publisher:manage'),
      schema: {
        params: { type: 'object', properties: { uuid: hexId } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { fileName: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9._ -]+$' } },
        },
      },
    },
    async (req) => {
      if (!(req.headers['content-type'] ?? '').startsWith('application/octet-stream'))
        throw new DeviceMgtError(400, 'the artifact is sent as application/octet-stream');
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > publisher.artifacts.maxBytes)
        throw new DeviceMgtError(413, `the artifact is larger than ${publisher.artifacts.maxBytes} bytes`);
      return publisher.uploadArtifact(
        req.dmCaller!.orgId,
        (req.params as { uuid: string }).uuid,
        (req.query as { fileName?: string }).fileName,
        req.body as Readable,
      );
    },
  );

  app.post(
    '/applications/life-cycle/:uuid',
    {
      schema: {
        params: { type: 'object', properties: { uuid: hexId } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action'],
          properties: { action: { enum: [...lifecycleStates] }, reason: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
      },
      // Review decisions need the review scope; every other move the manage scope.
      preHandler: async (req, reply) => {
        const scope = reviewStates.includes((req.body as { action: LifecycleState }).action)
          ? 'am:publisher:review'
          : 'am:publisher:manage';
        return needs(scope)(req, reply);
      },
    },
    async (req) => {
      const b = req.body as { action: LifecycleState; reason?: string };
      return publisher.transition(req.dmCaller!.orgId, (req.params as { uuid: string }).uuid, b.action, req.dmCaller!.clientId, b.reason);
    },
  );

  app.get(
    '/applications/life-cycle/state-changes/:uuid',
    { preHandler: needs('am:publisher:view'), schema: { params: { type: 'object', properties: { uuid: hexId } } } },
    async (req) => {
      const r = await publisher.release(req.dmCaller!.orgId, (req.params as { uuid: string }).uuid);
      return { state: r.state, nextStates: nextStates[r.state], stateChanges: r.lifecycle };
    },
  );

  app.get('/applications/lifecycle-config', { preHandler: needs('am:publisher:view') }, async () => nextStates);
}
