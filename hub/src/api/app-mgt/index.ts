import type { FastifyInstance } from 'fastify';
import type { AppStore } from '../../device-management/apps/app-store.js';
import type { OAuthTokens } from '../../device-management/oauth.js';
import { installDmErrors, rateLimitConfig, requireBearer } from '../device-mgt/guard.js';
import { publisherRoutes } from './publisher.routes.js';
import { storeRoutes } from './store.routes.js';

export const PUBLISHER_BASE = '/api/application-mgt-publisher/v1.0';
export const STORE_BASE = '/api/application-mgt-store/v1.0';

export interface AppMgtApiOptions {
  store: AppStore;
  tokens: OAuthTokens;
  rateLimitPerMinute: number;
}

/**
 * The publisher and store REST (docs/DEVICE-MANAGEMENT.md, "Applications: REST"): the same OAuth2
 * bearer tokens, errors and per-client rate limit as the device-management REST, with the am:* scopes.
 */
export async function appMgtApi(app: FastifyInstance, opts: AppMgtApiOptions): Promise<void> {
  for (const [prefix, routes] of [
    [PUBLISHER_BASE, (s: FastifyInstance) => publisherRoutes(s, { publisher: opts.store.publisher })],
    [STORE_BASE, (s: FastifyInstance) => storeRoutes(s, { store: opts.store })],
  ] as const) {
    await app.register(
      async (scope) => {
        installDmErrors(scope);
        requireBearer(scope, opts.tokens);
        scope.addHook('onRequest', scope.rateLimit(rateLimitConfig(opts.rateLimitPerMinute)));
        await scope.register(async (s) => routes(s));
      },
      { prefix },
    );
  }
}
