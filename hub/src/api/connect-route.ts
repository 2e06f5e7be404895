import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify';

/** Versions of the Connection Service paths we answer; the OpenAPI document shows the newest. */
export const CONNECT_VERSIONS = ['v2.1', 'v2.0'] as const;

export interface ConnectRoute {
  method: 'GET' | 'POST';
  /** Resource path below /connect-service/{version}/, e.g. 'devices'. */
  resource: string;
  action: string;
  schema: Record<string, unknown>;
  handler: (req: FastifyRequest) => Promise<unknown>;
  bodyLimit?: number;
  /** A request without a body is treated as `{}` (the action's parameters may all come as query parameters). */
  bodyOptional?: boolean;
}

/** Registers one action of a Connection Service resource under every supported version. */
export function connectRoute(app: FastifyInstance, r: ConnectRoute): void {
  for (const version of CONNECT_VERSIONS) {
    const opts: RouteShorthandOptions = {
      constraints: { action: r.action },
      schema: { ...r.schema, hide: version !== CONNECT_VERSIONS[0] },
    };
    if (r.bodyLimit !== undefined) opts.bodyLimit = r.bodyLimit;
    if (r.bodyOptional) {
      opts.preValidation = async (req: FastifyRequest) => {
        if (req.body === undefined || req.body === null) req.body = {};
      };
    }
    app.route({ ...opts, method: r.method, url: `/connect-service/${version}/${r.resource}`, handler: r.handler });
  }
}
