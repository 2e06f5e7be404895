import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import { createRequire } from 'node:module';
import type * as SwaggerModule from '@fastify/swagger';
import type { SwaggerOptions } from '@fastify/swagger';
import type * as SwaggerUiModule from '@fastify/swagger-ui';
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';
import { actionConstraint } from './action-constraint.js';

/**
 * The OpenAPI document and Swagger UI under `/docs`, built on the first request to them instead of
 * at start-up (docs/BENCHMARKS.md, "Start-up"; docs/PROTOCOL.md, "OpenAPI document").
 *
 * @fastify/swagger learns the routes from an `onRoute` hook and builds the document from them on
 * request; loading it and @fastify/swagger-ui (with their YAML library and static-file server) and
 * running their hooks on every route was a noticeable part of each start, for a page few starts
 * ever serve. Here a cheap `onRoute` hook only records what the document is made of (method, URL,
 * schema, constraints, route config) and the shared schemas; the first `/docs` request loads the
 * two plugins into a private Fastify instance, registers the recorded routes there with empty
 * handlers (nothing is compiled or validated there), and every `/docs` request is answered by that
 * instance through `inject`. The document and the UI are the ones the same plugins made before.
 *
 * Call `recordDocsRoutes` before any documented route is registered.
 */
export interface LazyDocsOptions {
  swagger: SwaggerOptions;
  /** Where the UI is served, e.g. `/docs`. */
  routePrefix: string;
}

/** What the document needs of a route. */
type RecordedRoute = Pick<RouteOptions, 'method' | 'url' | 'schema' | 'constraints' | 'config'>;

export function recordDocsRoutes(app: FastifyInstance, opts: LazyDocsOptions): void {
  const routes: RecordedRoute[] = [];
  const instances: FastifyInstance[] = [];
  const sharedSchemas = new Map<string, unknown>();
  const prefix = opts.routePrefix;
  const isDocsRoute = (url: string) => url === prefix || url.startsWith(`${prefix}/`);
  app.addHook('onRoute', (route) => {
    if (isDocsRoute(route.url)) return;
    routes.push({ method: route.method, url: route.url, schema: route.schema, constraints: route.constraints, config: route.config });
  });
  // Shared schemas (addSchema) of every plugin scope, gathered once the app is ready, as @fastify/swagger does.
  app.addHook('onRegister', (instance) => {
    instances.push(instance);
  });
  app.addHook('onReady', async () => {
    for (const instance of [...instances, app])
      for (const [id, schema] of Object.entries(instance.getSchemas())) sharedSchemas.set(id, schema);
    instances.length = 0;
  });

  let docs: Promise<FastifyInstance> | undefined;
  const build = async (): Promise<FastifyInstance> => {
    // `require`, not `import()`: the compiled hub runs as a cached script, which cannot import() (scripts/code-cache.ts).
    const load = createRequire(import.meta.url);
    const swagger = load('@fastify/swagger') as typeof SwaggerModule.default;
    const swaggerUi = load('@fastify/swagger-ui') as typeof SwaggerUiModule.default;
    const d = Fastify({ routerOptions: { constraints: { action: actionConstraint } } });
    // The recorded routes are registered for the document only: never called, so never validated.
    d.setValidatorCompiler(() => () => true);
    d.setSerializerCompiler(() => (data) => JSON.stringify(data));
    for (const [id, schema] of sharedSchemas) d.addSchema({ $id: id, ...(schema as object) });
    await d.register(swagger, opts.swagger);
    await d.register(swaggerUi, { routePrefix: prefix } satisfies FastifySwaggerUiOptions);
    const handler = () => undefined;
    for (const r of routes) {
      const route: RouteOptions = { method: r.method, url: r.url, handler, exposeHeadRoute: false };
      if (r.schema) route.schema = r.schema;
      if (r.constraints) route.constraints = r.constraints;
      if (r.config) route.config = r.config;
      d.route(route);
    }
    await d.ready();
    return d;
  };
  const serve = async (req: FastifyRequest, reply: FastifyReply) => {
    docs ??= build().catch((err: unknown) => {
      docs = undefined; // a later request tries again
      throw err;
    });
    const d = await docs;
    const res = await d.inject({ method: req.method as 'GET' | 'HEAD', url: req.url, headers: { accept: req.headers.accept ?? '*/*' } });
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined || hopByHop.has(name)) continue;
      reply.header(name, value);
    }
    return reply.status(res.statusCode).send(res.rawPayload);
  };
  app.get(prefix, { schema: { hide: true } }, serve);
  app.get(`${prefix}/*`, { schema: { hide: true } }, serve);
  app.addHook('onClose', async () => {
    if (docs) await (await docs.catch(() => undefined))?.close();
  });
}

/** Headers of the private instance's answer that the real connection sets itself. */
const hopByHop = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date']);
