import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazyValidators } from '../../hub/src/api/lazy-validators.js';
import { startHub } from '../src/index.js';

/**
 * Route validators are compiled on a route's first request, not at start-up
 * (hub/src/api/lazy-validators.ts): the same checks and errors as Fastify's own compiler, and
 * every schema of the hub still compiles.
 */
describe('lazily compiled route validators', () => {
  const schema = {
    body: {
      type: 'object',
      required: ['name'],
      properties: { name: { type: 'string', minLength: 2 }, size: { type: 'integer', default: 1 } },
      additionalProperties: false,
    },
  };
  const ajv = { customOptions: { removeAdditional: false as const, coerceTypes: false as const, useDefaults: true, allErrors: false } };

  async function answers(lazy: boolean, body: unknown): Promise<{ status: number; body: unknown }> {
    const validators = lazyValidators();
    const app = Fastify(lazy ? { ajv, schemaController: { compilersFactory: { buildValidator: validators.buildValidator } } } : { ajv });
    app.post('/thing', { schema }, async (req) => req.body);
    try {
      const r = await app.inject({ method: 'POST', url: '/thing', payload: body as Record<string, unknown> });
      return { status: r.statusCode, body: r.json() };
    } finally {
      await app.close();
    }
  }

  it('accepts, refuses and fills in defaults exactly as the default compiler does', async () => {
    for (const body of [{ name: 'ab' }, { name: 'a' }, { name: 'ab', size: 'x' }, { name: 'ab', extra: 1 }, {}, { name: 'abc', size: 3 }]) {
      const lazy = await answers(true, body);
      expect(lazy).toEqual(await answers(false, body));
    }
    expect((await answers(true, { name: 'ab' })).body).toEqual({ name: 'ab', size: 1 });
    expect((await answers(true, { name: 'a' })).status).toBe(400);
  });

  it('refuses a header schema with an upper-case name when the route is registered', async () => {
    const validators = lazyValidators();
    const app = Fastify({ schemaController: { compilersFactory: { buildValidator: validators.buildValidator } } });
    app.get(
      '/h',
      { schema: { headers: { type: 'object', required: ['X-Key'], properties: { 'X-Key': { type: 'string' } } } } },
      async () => 'ok',
    );
    await expect(app.ready()).rejects.toThrow(/lower case/);
    await app.close();
  });

  it('compiles every route schema of the hub', async () => {
    const hub = await startHub();
    try {
      expect(() => hub.hub.api.compileRouteValidators()).not.toThrow();
      // A malformed body still gets the documented error (code 400 envelope), through a validator compiled on demand.
      const r = await hub.admin.connect(hub.adminCreds.orgId, 'POST', 'products', 'create', {}, { productName: 5 });
      expect(r.code).not.toBe(0);
    } finally {
      await hub.close();
    }
  });
});
