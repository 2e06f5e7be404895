import type { FastifyInstance } from 'fastify';
import type { AppStore } from '../../device-management/apps/app-store.js';
import type { DeviceManagement } from '../../device-management/device-management.js';
import { appMgtApi } from '../app-mgt/index.js';
import type { Policies } from '../../device-management/policies/policies.js';
import type { OAuthTokens } from '../../device-management/oauth.js';
import type { DeviceTypeContext } from '../../device-types/plugin.js';
import type { DeviceTypes } from '../../device-types/plugins.js';
import { dmActivityRoutes } from './activities.routes.js';
import { dmDeviceRoutes } from './devices.routes.js';
import { dmGroupRoutes } from './groups.routes.js';
import { DM_BASE, installDmErrors, rateLimitConfig, requireBearer } from './guard.js';
import { oauthTokenRoutes } from './oauth-token.routes.js';
import { dmPolicyRoutes } from './policies.routes.js';

export interface DeviceMgtApiOptions {
  dm: DeviceManagement;
  tokens: OAuthTokens;
  types: DeviceTypes;
  ctx: DeviceTypeContext;
  /** Calls per OAuth2 client per minute (HUB_DM_RATE_LIMIT). */
  rateLimitPerMinute: number;
  tokenRateLimitPerMinute: number;
  /** The app publisher and store REST, on the same tokens (docs/DEVICE-MANAGEMENT.md, "Applications: REST"). */
  apps?: AppStore;
  /** Policies and compliance (docs/DEVICE-MANAGEMENT.md, "Policies"). */
  policies?: Policies;
}

/**
 * The device-management REST (docs/DEVICE-MANAGEMENT.md, "Management REST"): `POST /token`, and
 * under /api/device-mgt/v1.0 the devices of every type, operations, activities, groups, device
 * types and each plugin's management routes — OAuth2 bearer tokens with scopes, rate limited per client.
 */
export async function deviceMgtApi(app: FastifyInstance, opts: DeviceMgtApiOptions): Promise<void> {
  await app.register(async (scope) => oauthTokenRoutes(scope, { tokens: opts.tokens, rateLimitPerMinute: opts.tokenRateLimitPerMinute }));
  await app.register(
    async (scope) => {
      installDmErrors(scope);
      requireBearer(scope, opts.tokens);
      // Every call of the scope is rate limited per OAuth2 client (the key comes from the bearer check before it).
      scope.addHook('onRequest', scope.rateLimit(rateLimitConfig(opts.rateLimitPerMinute)));
      await scope.register(async (s) => {
        await s.register(dmDeviceRoutes, { dm: opts.dm, types: opts.types });
        await s.register(dmGroupRoutes, { groups: opts.dm.groups });
        await s.register(dmActivityRoutes, { dm: opts.dm, types: opts.types });
        if (opts.policies) await s.register(dmPolicyRoutes, { policies: opts.policies, dm: opts.dm });
        for (const t of opts.types.list()) if (t.managementRoutes) await s.register(async (p) => t.managementRoutes!(p, opts.ctx));
      });
    },
    { prefix: DM_BASE },
  );
  if (opts.apps) await appMgtApi(app, { store: opts.apps, tokens: opts.tokens, rateLimitPerMinute: opts.rateLimitPerMinute });
  // Each type's own API (Entgra's /api/device-mgt/<type>/v1.0/admin/…): same guard, its own prefix.
  for (const t of opts.types.list()) {
    if (!t.adminRoutes) continue;
    await app.register(
      async (scope) => {
        installDmErrors(scope);
        requireBearer(scope, opts.tokens);
        scope.addHook('onRequest', scope.rateLimit(rateLimitConfig(opts.rateLimitPerMinute)));
        await t.adminRoutes!(scope, { ...opts.ctx, addOperation: (caller, type, req) => opts.dm.addOperation(caller, type, req) });
      },
      { prefix: `/api/device-mgt/${t.id}/v1.0` },
    );
  }
}
