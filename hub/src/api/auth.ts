import { EnosError, codes } from '@edgehub/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller, TokenService } from '../auth/tokens.js';
import type { Registry } from '../registry/registry.js';
import { queryParamsOf } from './request-query.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as sent: the apim signature covers it byte for byte (§7.2). */
    rawBody?: string;
    caller?: Caller;
    /** The organization the call acts in, once checked. */
    orgId?: string;
  }
  interface FastifyContextConfig {
    /** Administrator endpoints: only applications flagged admin may call them. */
    admin?: boolean;
    /** Calls that act in an organization named by the `orgId` query parameter (default true). */
    orgScoped?: boolean;
  }
}

/**
 * Adds apim request verification to every route registered in `scope`:
 * 1. preValidation: token + signature (401 on failure), before the body is even looked at;
 * 2. preHandler: the orgId must exist (99400) and the caller's application must be registered in
 *    it (99403), the tenant boundary of every Connection Service call (§7.1).
 */
export function requireSignedCalls(scope: FastifyInstance, tokens: TokenService, registry: Registry): void {
  scope.addHook('preValidation', async (req: FastifyRequest) => {
    const query = queryParamsOf(req.raw);
    req.caller = await tokens.verify(
      {
        token: header(req, 'apim-accesstoken'),
        timestamp: header(req, 'apim-timestamp'),
        signature: header(req, 'apim-signature'),
      },
      query,
      req.rawBody,
    );
  });
  scope.addHook('preHandler', async (req: FastifyRequest) => {
    const caller = req.caller!;
    const config = req.routeOptions.config;
    if (config.admin && !caller.app.admin) throw new EnosError(codes.denied, 'Denied resource: administrator endpoint');
    if (config.orgScoped === false) return;
    const orgId = (req.query as { orgId?: string }).orgId;
    if (!orgId) throw new EnosError(codes.invalidArgument, 'Invalid Argument orgId: orgId is missing');
    await registry.organizations.require(orgId);
    if (!(await registry.applications.isRegistered(orgId, caller.app.appId))) {
      throw new EnosError(codes.denied, `Denied resource: orgId ${orgId}`);
    }
    req.orgId = orgId;
  });
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
