import { safeEqual } from '@edgehub/shared';
import type { FastifyInstance } from 'fastify';

/**
 * Every config center request carries `Authorization: Bearer <token>` (docs/ARCHITECTURE.md, "Edge
 * config center"): the token is `configCenter.token`/`tokenFile` from the edge config, or the
 * gateway's own device secret when neither is set. Compared in constant time; never logged.
 */
export function requireBearerToken(app: FastifyInstance, token: string): void {
  const expected = `Bearer ${token}`;
  app.addHook('onRequest', async (req, reply) => {
    const given = req.headers.authorization;
    if (typeof given === 'string' && safeEqual(given, expected)) return;
    return reply.status(401).header('www-authenticate', 'Bearer realm="edge config center"').send({
      error:
        'the config center needs Authorization: Bearer <token> (configCenter.token or tokenFile in the edge config; by default the gateway device secret)',
    });
  });
}
