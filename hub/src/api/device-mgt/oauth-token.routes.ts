import type { FastifyInstance } from 'fastify';
import { OAuthError, type OAuthTokens } from '../../device-management/oauth.js';

/**
 * `POST /token` — OAuth2 client credentials (RFC 6749 §4.4; docs/DEVICE-MANAGEMENT.md,
 * "Authentication"). Form body `grant_type=client_credentials[&scope=…]`, the client's id and
 * secret in HTTP Basic or as `client_id` / `client_secret` form fields. Rate limited per address.
 */
export async function oauthTokenRoutes(app: FastifyInstance, opts: { tokens: OAuthTokens; rateLimitPerMinute: number }): Promise<void> {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof OAuthError)
      return reply.status(err.status).header('cache-control', 'no-store').send({ error: err.error, error_description: err.message });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return reply.status(status).send({
      error: status === 429 ? 'slow_down' : 'invalid_request',
      error_description: status === 500 ? 'internal error' : err.message,
    });
  });
  app.post(
    '/token',
    { config: { rateLimit: { max: opts.rateLimitPerMinute, timeWindow: 60_000 } }, schema: { hide: true } },
    async (req, reply) => {
      if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
        throw new OAuthError(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
      const form = (req.body ?? {}) as Record<string, string>;
      if (form['grant_type'] !== 'client_credentials')
        throw new OAuthError(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
      let id = form['client_id'];
      let secret = form['client_secret'];
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      if (basic) {
        const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) {
          id = decodeURIComponent(decoded.slice(0, colon));
          secret = decodeURIComponent(decoded.slice(colon + 1));
        }
      }
      if (!id || !secret) throw new OAuthError(401, 'invalid_client', 'client credentials missing');
      const issued = await opts.tokens.issue(id, secret, form['scope']);
      return reply
        .header('cache-control', 'no-store')
        .send({ access_token: issued.access_token, token_type: issued.token_type, expires_in: issued.expires_in, scope: issued.scope });
    },
  );
}
