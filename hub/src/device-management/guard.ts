import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DeviceMgtError } from './errors.js';
import type { DmCaller, DmScope, OAuthTokens } from './oauth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The OAuth2 client behind the bearer token of a device-management call. */
    dmCaller?: DmCaller;
  }
}

export const DM_BASE = '/api/device-mgt/v1.0';

/** Answers a device-management error as `{ code, message }` with its HTTP status (docs/DEVICE-MANAGEMENT.md, "Errors"). */
export function installDmErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err instanceof DeviceMgtError) return reply.status(err.status).send({ code: err.status, message: err.message });
    if (err.validation || err.statusCode === 400) return reply.status(400).send({ code: 400, message: err.message });
    if (err.statusCode === 413 || err.statusCode === 415 || err.statusCode === 429)
      return reply.status(err.statusCode).send({ code: err.statusCode, message: err.message });
    req.log.error({ err }, 'device-management call failed');
    return reply.status(500).send({ code: 500, message: 'internal error' });
  });
}

/** Every call carries `Authorization: Bearer <token>` from POST /token; the token fixes the organization. */
export function requireBearer(scope: FastifyInstance, tokens: OAuthTokens): void {
  scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const m = /^Bearer ([A-Za-z0-9_-]{20,200})$/.exec(req.headers.authorization ?? '');
    const caller = m ? await tokens.verify(m[1]!) : undefined;
    if (!caller) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer error="invalid_token"')
        .send({ code: 401, message: 'a valid bearer token from POST /token is required' });
    }
    req.dmCaller = caller;
  });
}

/** Route option: the scope a call needs (403 without it). */
export function needs(scope: DmScope) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.dmCaller?.scopes.includes(scope)) return reply.status(403).send({ code: 403, message: `the token lacks scope ${scope}` });
  };
}

/** Per-client rate limit of the device-management REST (HUB_DM_RATE_LIMIT calls per minute). */
export const rateLimitConfig = (perMinute: number) => ({
  max: perMinute,
  timeWindow: 60_000,
  keyGenerator: (req: FastifyRequest) => `dm:${req.dmCaller?.clientId ?? req.ip}`,
});

export const paging = {
  offset: { type: 'string', pattern: '^[0-9]{1,7}$' },
  limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
} as const;

export function pageOf(q: { offset?: string; limit?: string }): { offset: number; limit: number } {
  const limit = q.limit === undefined ? 100 : Number(q.limit);
  if (limit < 1 || limit > 1000) throw new DeviceMgtError(400, 'limit: from 1 to 1000');
  return { offset: q.offset === undefined ? 0 : Number(q.offset), limit };
}
