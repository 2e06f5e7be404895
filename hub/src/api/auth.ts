import { EnosError, codes } from '@edgehub/shared';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Caller, SignedHeaders, TokenService } from '../auth/tokens.js';
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
  // Both hooks go on synchronously when the token, application, organization and registration are
  // held in memory (registry/record-cache.ts), and wait for the store only when one is not: every
  // check runs on every request either way (docs/BENCHMARKS.md, "REST: where the time goes").
  scope.addHook('preValidation', (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    settle(
      () => tokens.verifyHeld(signedHeaders(req), queryParamsOf(req.raw), req.rawBody),
      (caller) => {
        req.caller = caller;
      },
      done,
    );
  });
  scope.addHook('preHandler', (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    settle(
      () => checkOrg(req, registry),
      () => undefined,
      done,
    );
  });
}

/** The caller may act in the request's orgId: it exists (99400) and the application is registered in it (99403). */
function checkOrg(req: FastifyRequest, registry: Registry): void | Promise<void> {
  const caller = req.caller!;
  const config = req.routeOptions.config;
  if (config.admin && !caller.app.admin) throw new EnosError(codes.denied, 'Denied resource: administrator endpoint');
  if (config.orgScoped === false) return;
  const orgId = (req.query as { orgId?: string }).orgId;
  if (!orgId) throw new EnosError(codes.invalidArgument, 'Invalid Argument orgId: orgId is missing');
  const appId = caller.app.appId;
  if (registry.organizations.heldExists(orgId) && registry.applications.heldRegistered(orgId, appId)) {
    req.orgId = orgId;
    return;
  }
  return (async () => {
    await registry.organizations.require(orgId);
    if (!(await registry.applications.isRegistered(orgId, appId))) throw new EnosError(codes.denied, `Denied resource: orgId ${orgId}`);
    req.orgId = orgId;
  })();
}

/** Runs a step that answers now or later, then `use`s its result and calls the hook's `done` (with the error if it failed). */
function settle<T>(step: () => T | Promise<T>, use: (value: T) => void, done: HookHandlerDoneFunction): void {
  let result: T | Promise<T>;
  try {
    result = step();
  } catch (err) {
    done(err as FastifyError);
    return;
  }
  if (result instanceof Promise) {
    result.then(
      (value: T) => {
        use(value);
        done();
      },
      (err: unknown) => done(err as FastifyError),
    );
    return;
  }
  use(result);
  done();
}

function signedHeaders(req: FastifyRequest): SignedHeaders {
  return { token: header(req, 'apim-accesstoken'), timestamp: header(req, 'apim-timestamp'), signature: header(req, 'apim-signature') };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
