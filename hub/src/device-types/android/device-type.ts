import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { FcmPushProvider, fcmProductionUrl } from '../../push/fcm/fcm-provider.js';
import { parseServiceAccount } from '../../push/fcm/service-account.js';
import type { DeviceTypeDeps } from '../plugins.js';
import type { DeviceCommand, DeviceTypeAdminContext, DeviceTypeContext, DeviceTypePlugin } from '../plugin.js';
import { androidAdminRoutes } from './admin.routes.js';
import { ANDROID, AndroidAgentService } from './agent-service.js';
import { androidAgentRoutes } from './agent.routes.js';
import { AndroidEnrollments } from './enrollments.js';
import { androidOperations, renderOperation } from './operations.js';

const day = 86_400;

/** The plugin's settings (docs/CONFIGURATION.md, "Android device type"). */
export interface AndroidSettings {
  /** The Google service account key file's text; without it no pushes are sent (agents poll). */
  serviceAccountJson?: string;
  fcmUrl: string;
  fcmTokenUrl?: string;
}

export function androidSettingsFromEnv(env: Record<string, string | undefined>): AndroidSettings {
  const file = env['HUB_FCM_SERVICE_ACCOUNT_FILE'];
  return {
    ...(file ? { serviceAccountJson: readFileSync(file, 'utf8') } : {}),
    fcmUrl: env['HUB_FCM_URL'] || fcmProductionUrl,
    ...(env['HUB_FCM_TOKEN_URL'] ? { fcmTokenUrl: env['HUB_FCM_TOKEN_URL'] } : {}),
  };
}

/**
 * The `android` device type on the shared command core (docs/DEVICE-MANAGEMENT.md, "Android"):
 * the Entgra agent protocol, operations queued by the core and fetched by the agent's
 * pending-operations call, wake-ups through FCM HTTP v1.
 */
export async function createAndroidDeviceType(
  deps: DeviceTypeDeps,
  settings: AndroidSettings = androidSettingsFromEnv(deps.env),
): Promise<DeviceTypePlugin> {
  const log = deps.log.child({ deviceType: ANDROID });
  const enrollments = await AndroidEnrollments.open(deps.store);
  const pushProvider = settings.serviceAccountJson
    ? new FcmPushProvider({
        account: parseServiceAccount(settings.serviceAccountJson),
        url: settings.fcmUrl,
        ...(settings.fcmTokenUrl ? { tokenUrl: settings.fcmTokenUrl } : {}),
        clock: deps.clock,
      })
    : undefined;
  if (!pushProvider)
    log.warn('HUB_FCM_SERVICE_ACCOUNT_FILE is not set: Android devices are not woken by FCM and get operations when they poll');
  let service: AndroidAgentService | undefined;
  const serviceFor = (ctx: DeviceTypeContext) => (service ??= new AndroidAgentService(ctx, enrollments, log));

  return {
    id: ANDROID,
    delivery: 'wake-and-pull',
    features: Object.entries(androidOperations).map(([code, spec]) => ({ code, name: spec.name })),
    deadlines: {
      defaultPendingSeconds: 7 * day,
      maxPendingSeconds: 30 * day,
      replyTimeoutSeconds: { default: 7 * day, min: 60, max: 30 * day },
    },
    ...(pushProvider ? { pushProvider } : {}),
    render(command: DeviceCommand) {
      return renderOperation(command.commandId, command.name, command.params, command.createdAt);
    },
    async routes(app: FastifyInstance, ctx: DeviceTypeContext) {
      await app.register(androidAgentRoutes, { service: serviceFor(ctx) });
    },
    async adminRoutes(app: FastifyInstance, ctx: DeviceTypeAdminContext) {
      await app.register(androidAdminRoutes, { service: serviceFor(ctx), ctx });
    },
  };
}
