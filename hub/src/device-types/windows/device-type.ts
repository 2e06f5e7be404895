import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { ChannelOrigins, defaultChannelOrigins } from '../../push/wns/channel-uri.js';
import { WnsPushProvider } from '../../push/wns/wns-provider.js';
import { WnsTokenSource, wnsProductionTokenUrl, type WnsCredentials } from '../../push/wns/wns-token.js';
import type { DeviceTypeDeps } from '../plugins.js';
import type { DeviceCommand, DeviceTypeContext, DeviceTypePlugin } from '../plugin.js';
import { EnrollmentService, WINDOWS, type EnrollmentSettings } from './enrollment-service.js';
import { openWindowsEnrollments } from './enrollments.js';
import { ManagementService } from './management-service.js';
import { renderOperation, windowsFeatures } from './operations.js';
import { windowsPaths, windowsRoutes } from './routes.js';

const day = 86_400;

/** The plugin's settings (docs/CONFIGURATION.md, "Windows device type"). */
export interface WindowsSettings extends EnrollmentSettings {
  wns?: WnsCredentials;
  channelOrigins: string[];
}

export function windowsSettingsFromEnv(env: Record<string, string | undefined>): WindowsSettings {
  const fromFile = (path: string | undefined) => (path ? readFileSync(path, 'utf8').trim() : undefined);
  const enrollmentSecret = env['HUB_WINDOWS_ENROLLMENT_SECRET'] || fromFile(env['HUB_WINDOWS_ENROLLMENT_SECRET_FILE']);
  const clientId = env['HUB_WNS_CLIENT_ID'];
  const clientSecret = env['HUB_WNS_CLIENT_SECRET'] || fromFile(env['HUB_WNS_CLIENT_SECRET_FILE']);
  const pfn = env['HUB_WNS_PFN'];
  return {
    orgId: () => env['HUB_WINDOWS_ORG_ID'] || undefined,
    ...(enrollmentSecret ? { enrollmentSecret } : {}),
    ...(pfn ? { pfn } : {}),
    ...(clientId && clientSecret ? { wns: { tokenUrl: env['HUB_WNS_TOKEN_URL'] ?? wnsProductionTokenUrl, clientId, clientSecret } } : {}),
    channelOrigins: env['HUB_WNS_CHANNEL_ORIGINS']
      ? env['HUB_WNS_CHANNEL_ORIGINS']
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : defaultChannelOrigins,
  };
}

/**
 * The `windows` device type on the shared command core (docs/DEVICE-MANAGEMENT.md, "Windows"):
 * MS-MDE2-shaped discovery and enrollment, SyncML sessions on the management endpoint, wake-ups
 * through WNS raw notifications. Commands are queued by the core and pulled in the session.
 */
export async function createWindowsDeviceType(
  deps: DeviceTypeDeps,
  settings: WindowsSettings = windowsSettingsFromEnv(deps.env),
): Promise<DeviceTypePlugin> {
  const log = deps.log.child({ deviceType: WINDOWS });
  const enrollments = await openWindowsEnrollments(deps.store);
  const origins = new ChannelOrigins(settings.channelOrigins);
  const tokens = settings.wns ? new WnsTokenSource(settings.wns, deps.clock) : undefined;
  if (!tokens) log.warn('HUB_WNS_CLIENT_ID / HUB_WNS_CLIENT_SECRET are not set: Windows devices are not woken (they poll)');
  return {
    id: WINDOWS,
    delivery: 'wake-and-pull',
    features: windowsFeatures,
    deadlines: {
      defaultPendingSeconds: 7 * day,
      maxPendingSeconds: 30 * day,
      replyTimeoutSeconds: { default: 7 * day, min: 60, max: 30 * day },
    },
    pushProvider: new WnsPushProvider(tokens, origins),
    render(command: DeviceCommand) {
      return renderOperation(command.commandId, command.name, command.params);
    },
    async routes(app: FastifyInstance, ctx: DeviceTypeContext) {
      const managementUrl = () => `${ctx.publicBaseUrl()}${windowsPaths.management}`;
      await app.register(windowsRoutes, {
        enrollment: new EnrollmentService(enrollments, settings, ctx, log, managementUrl),
        management: new ManagementService(enrollments, ctx, origins, log, managementUrl),
        publicBaseUrl: ctx.publicBaseUrl,
      });
    },
  };
}
