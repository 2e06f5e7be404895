import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where `npm start` / `npm test` build the console (console/scripts/build-if-stale.ts). */
export const defaultConsoleDir = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/**
 * The web console (docs/CONSOLE.md): the built single-page app under `/console/`. Everything it loads
 * comes from here (the policy below forbids other origins); it calls the same signed REST API as any
 * application. Without a build the page says how to make one instead of failing.
 */
export async function consoleRoutes(app: FastifyInstance, opts: { dir?: string }): Promise<void> {
  const dir = opts.dir ?? defaultConsoleDir;
  const policy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
  app.get('/console', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/'));
  if (!existsSync(`${dir}/index.html`)) {
    app.get('/console/*', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('The console is not built. Run `npm run -w console build` (npm start and npm test build it when needed).\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/console/',
    index: 'index.html',
    // Swagger UI registers the same plugin: one reply.sendFile decorator is enough.
    decorateReply: false,
    // Hashed asset names never change content; index.html is revalidated on every load.
    cacheControl: false,
    setHeaders(reply, path) {
      reply.header('content-security-policy', policy);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
