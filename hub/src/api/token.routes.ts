import { EnosError, codes } from '@edgehub/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenService } from '../auth/tokens.js';
import { toEnosError } from './errors.js';
import { httpStatusFor } from './envelope.js';

const BUSINESS = 'apim-token-service';

const tokenBody = {
  type: 'object',
  required: ['appKey', 'encryption', 'timestamp'],
  properties: {
    appKey: { type: 'string', minLength: 1, maxLength: 128 },
    encryption: { type: 'string', minLength: 1, maxLength: 128 },
    timestamp: { type: ['integer', 'string'], maxLength: 20 },
  },
} as const;

const tokenResponse = {
  type: 'object',
  properties: {
    status: { type: 'integer' },
    msg: { type: 'string' },
    business: { type: 'string' },
    data: { type: ['object', 'null'], properties: { accessToken: { type: 'string' }, expire: { type: 'integer' } } },
  },
};

export interface TokenRouteOptions {
  tokens: TokenService;
  /** Token requests per minute per client address (brute-force guard). */
  rateLimitPerMinute: number;
}

/**
 * `POST /apim-token-service/v2.0/token/get|refresh` (docs/ENOS-PROTOCOL.md §7.2). Its envelope is the
 * token service's own: `{status, msg, business, data}`.
 */
export async function tokenRoutes(app: FastifyInstance, opts: TokenRouteOptions): Promise<void> {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    let e = toEnosError(err, req);
    // The token service names its own codes for bad input.
    if (e.code === codes.invalidArgument) {
      const missing = (err as { validation?: { keyword?: string }[] }).validation?.[0]?.keyword === 'required';
      e = new EnosError(
        missing ? codes.tokenParamEmpty : codes.tokenInvalidParam,
        e.message.replace('Invalid Argument', missing ? 'Param is empty' : 'Invalid param'),
      );
    }
    return reply.status(httpStatusFor(e.code)).send({ status: e.code, msg: e.message, business: BUSINESS, data: null });
  });
  const config = { rateLimit: { max: opts.rateLimitPerMinute, timeWindow: 60_000 } };

  app.post(
    '/apim-token-service/v2.0/token/get',
    {
      config,
      schema: { tags: ['token'], summary: 'Get an access token for a service account', body: tokenBody, response: { 200: tokenResponse } },
    },
    async (req) => {
      const body = req.body as { appKey: string; encryption: string; timestamp: number | string };
      const data = await opts.tokens.get(body);
      return { status: 0, msg: 'SUCCESS', business: BUSINESS, data };
    },
  );

  app.post(
    '/apim-token-service/v2.0/token/refresh',
    {
      config,
      schema: {
        tags: ['token'],
        summary: 'Exchange a live access token for a new one',
        body: {
          ...tokenBody,
          required: [...tokenBody.required, 'accessToken'],
          properties: { ...tokenBody.properties, accessToken: { type: 'string', minLength: 1, maxLength: 256 } },
        },
        response: { 200: tokenResponse },
      },
    },
    async (req) => {
      const body = req.body as { appKey: string; encryption: string; timestamp: number | string; accessToken: string };
      const data = await opts.tokens.refresh(body);
      return { status: 0, msg: 'SUCCESS', business: BUSINESS, data };
    },
  );
}
