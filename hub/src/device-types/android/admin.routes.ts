import type { FastifyInstance } from 'fastify';
import { needs } from '../../device-management/guard.js';
import { DeviceMgtError } from '../../device-management/errors.js';
import { ownerships, type Ownership } from '../../device-management/records.js';
import type { DeviceTypeAdminContext } from '../plugin.js';
import { ANDROID, type AndroidAgentService } from './agent-service.js';
import { propertiesSchema, toMap } from './agent.routes.js';
import { AndroidPayloadError, validateOperation } from './operations.js';

const ident = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' } as const;
const idList = { type: 'array', minItems: 1, maxItems: 10_000, items: ident } as const;

/**
 * Admin endpoints of Entgra's Android API, `…/android/v1.0/admin/devices/<action>`: each adds one
 * operation to the listed devices as an activity (201), like `POST /devices/android/operations`.
 * `ids`: the body is the list of device identifiers. `withPayload`: the body is
 * `{deviceIDs, operation}` and `operation` is the payload of the code.
 */
export const adminActions: Readonly<Record<string, { code: string; body: 'ids' | 'withPayload' }>> = Object.freeze({
  'lock-devices': { code: 'DEVICE_LOCK', body: 'withPayload' },
  'unlock-devices': { code: 'DEVICE_UNLOCK', body: 'ids' },
  location: { code: 'DEVICE_LOCATION', body: 'ids' },
  'clear-password': { code: 'CLEAR_PASSWORD', body: 'ids' },
  info: { code: 'DEVICE_INFO', body: 'ids' },
  logcat: { code: 'LOGCAT', body: 'ids' },
  'enterprise-wipe': { code: 'ENTERPRISE_WIPE', body: 'ids' },
  wipe: { code: 'WIPE_DATA', body: 'withPayload' },
  applications: { code: 'APPLICATION_LIST', body: 'ids' },
  ring: { code: 'DEVICE_RING', body: 'ids' },
  reboot: { code: 'REBOOT', body: 'ids' },
  mute: { code: 'DEVICE_MUTE', body: 'ids' },
  'install-application': { code: 'INSTALL_APPLICATION', body: 'withPayload' },
  'update-application': { code: 'UPDATE_APPLICATION', body: 'withPayload' },
  'uninstall-application': { code: 'UNINSTALL_APPLICATION', body: 'withPayload' },
  'blacklist-applications': { code: 'BLACKLIST_APPLICATIONS', body: 'withPayload' },
  'upgrade-firmware': { code: 'UPGRADE_FIRMWARE', body: 'withPayload' },
  'configure-vpn': { code: 'VPN', body: 'withPayload' },
  'send-notification': { code: 'NOTIFICATION', body: 'withPayload' },
  'configure-wifi': { code: 'WIFI', body: 'withPayload' },
  'encrypt-storage': { code: 'ENCRYPT_STORAGE', body: 'withPayload' },
  'control-camera': { code: 'CAMERA', body: 'withPayload' },
  'change-lock-code': { code: 'CHANGE_LOCK_CODE', body: 'withPayload' },
  'set-password-policy': { code: 'PASSCODE_POLICY', body: 'withPayload' },
  'set-webclip': { code: 'WEBCLIP', body: 'withPayload' },
});

/** Mounted under /api/device-mgt/android/v1.0 behind the management REST's OAuth2 guard. */
export async function androidAdminRoutes(
  app: FastifyInstance,
  { service, ctx }: { service: AndroidAgentService; ctx: DeviceTypeAdminContext },
): Promise<void> {
  // Enrollment (Entgra POST /devices): the agent holds an OAuth2 token of the organization it enrolls into.
  app.post(
    '/devices',
    {
      preHandler: needs('dm:devices:manage'),
      schema: {
        body: {
          type: 'object',
          required: ['deviceIdentifier'],
          properties: {
            deviceIdentifier: ident,
            name: { type: 'string', minLength: 1, maxLength: 256 },
            description: { type: 'string', maxLength: 1024 },
            ownership: { enum: [...ownerships] },
            enrolmentInfo: { type: 'object', properties: { ownership: { enum: [...ownerships] } } },
            properties: propertiesSchema,
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body as {
        deviceIdentifier: string;
        name?: string;
        description?: string;
        ownership?: Ownership;
        enrolmentInfo?: { ownership?: Ownership };
        properties?: { name: string; value: string }[];
      };
      const caller = req.dmCaller!;
      const ownership = b.ownership ?? b.enrolmentInfo?.ownership;
      const { device, accessToken } = await service.enroll({
        orgId: caller.orgId,
        owner: caller.clientId,
        deviceIdentifier: b.deviceIdentifier,
        properties: toMap(b.properties),
        ...(b.name ? { name: b.name } : {}),
        ...(b.description ? { description: b.description } : {}),
        ...(ownership ? { ownership } : {}),
      });
      return reply.status(201).send({
        deviceIdentifier: device.deviceIdentifier,
        enrolmentId: device.id,
        status: device.status,
        accessToken,
        tokenType: 'Bearer',
      });
    },
  );

  for (const [action, { code, body }] of Object.entries(adminActions)) {
    const schema =
      body === 'ids'
        ? idList
        : {
            type: 'object',
            additionalProperties: false,
            required: ['deviceIDs'],
            properties: { deviceIDs: idList, operation: { type: 'object', maxProperties: 64 } },
          };
    app.post(`/admin/devices/${action}`, { preHandler: needs('dm:devices:ops:add'), schema: { body: schema } }, async (req, reply) => {
      const b = req.body as string[] | { deviceIDs: string[]; operation?: Record<string, unknown> };
      const ids = Array.isArray(b) ? b : b.deviceIDs;
      const payload = Array.isArray(b) ? {} : (b.operation ?? {});
      let type;
      try {
        type = validateOperation(code, payload).spec.type;
      } catch (err) {
        if (err instanceof AndroidPayloadError) throw new DeviceMgtError(400, `${code}: ${err.message}`);
        throw err;
      }
      const activity = await ctx.addOperation(req.dmCaller!, ANDROID, { deviceIdentifiers: ids, operation: { code, type, payload } });
      return reply.status(201).send(activity);
    });
  }
}
