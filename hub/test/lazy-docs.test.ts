import { createRequire } from 'node:module';
import type { SwaggerOptions } from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { actionConstraint } from '../src/api/action-constraint.js';
import { recordDocsRoutes } from '../src/api/lazy-docs.js';

/**
 * /docs is built on its first request (hub/src/api/lazy-docs.ts): the document must be the one
 * @fastify/swagger made when it was registered at start-up, for the same routes, and the UI must be
 * served as before.
 */
const swaggerOptions: SwaggerOptions = {
  openapi: { openapi: '3.1.0', info: { title: 'docs test', version: '1.0.0' } },
  transform: ({ schema, url, route }) => {
    const action = (route.constraints as { action?: string } | undefined)?.action;
    return { schema, url: action ? `${url}?action=${action}` : url };
  },
};

/** The same routes on either app: actions as constraints, a hidden route, a prefixed scope with a shared schema. */
async function addRoutes(app: FastifyInstance): Promise<void> {
  const ok = async () => ({ ok: true });
  app.get('/health', { schema: { hide: true } }, ok);
  app.get(
    '/things/:id',
    { schema: { params: { type: 'object', properties: { id: { type: 'string' } } }, response: { 200: { type: 'object' } } } },
    ok,
  );
  for (const action of ['create', 'delete'])
    app.post(
      '/things',
      {
        constraints: { action },
        schema: { operationId: `${action}Thing`, body: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
      },
      ok,
    );
  await app.register(
    async (scope) => {
      scope.addSchema({ $id: 'point', type: 'object', properties: { value: { type: 'number' } } });
      scope.put('/points', { schema: { body: { $ref: 'point#' } } }, ok);
    },
    { prefix: '/v2' },
  );
}

const makeApp = () => Fastify({ routerOptions: { constraints: { action: actionConstraint } } });
const loaded = (name: string) => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes(`/node_modules/${name}/`));

describe('/docs built on first request', () => {
  const apps: FastifyInstance[] = [];
  afterAll(async () => {
    for (const a of apps) await a.close();
  });

  let lazy: FastifyInstance;
  it('does not load the OpenAPI plugins until /docs is asked for', async () => {
    lazy = makeApp();
    apps.push(lazy);
    recordDocsRoutes(lazy, { routePrefix: '/docs', swagger: swaggerOptions });
    await addRoutes(lazy);
    await lazy.ready();
    expect(loaded('@fastify/swagger')).toBe(false);
    expect(loaded('@fastify/swagger-ui')).toBe(false);
    expect((await lazy.inject('/docs/json')).statusCode).toBe(200);
    expect(loaded('@fastify/swagger')).toBe(true);
  });

  it('serves the document @fastify/swagger makes when registered at start-up', async () => {
    const { default: swagger } = await import('@fastify/swagger');
    const { default: swaggerUi } = await import('@fastify/swagger-ui');
    const eager = makeApp();
    apps.push(eager);
    await eager.register(swagger, swaggerOptions);
    await eager.register(swaggerUi, { routePrefix: '/docs' });
    await addRoutes(eager);
    await eager.ready();
    const expected = (await eager.inject('/docs/json')).json<{ paths: Record<string, unknown> }>();
    const got = (await lazy.inject('/docs/json')).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(got.paths).sort()).toEqual(['/things/{id}', '/things?action=create', '/things?action=delete', '/v2/points']);
    expect(got).toEqual(expected);
    const yaml = await lazy.inject('/docs/yaml');
    expect(yaml.statusCode).toBe(200);
    expect(yaml.body).toBe((await eager.inject('/docs/yaml')).body);
  });

  it('serves the UI page and its static files', async () => {
    const page = await lazy.inject('/docs');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('swagger-initializer.js');
    const css = await lazy.inject('/docs/static/swagger-ui.css');
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/text\/css/);
    expect(css.rawPayload.length).toBe(Number(css.headers['content-length']));
    expect((await lazy.inject('/docs/static/no-such-file.js')).statusCode).toBe(404);
    expect((await lazy.inject({ method: 'HEAD', url: '/docs/json' })).statusCode).toBe(200);
  });
});
