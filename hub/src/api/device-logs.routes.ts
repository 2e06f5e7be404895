import type { FastifyInstance } from 'fastify';
import { logLevels, type DeviceLogKind, type DeviceLogs, type LogLevel } from '../device-logs/device-logs.js';
import type { Registry } from '../registry/registry.js';
import { connectRoute } from './connect-route.js';
import { deviceRefOf } from './device-ref.js';
import { ok } from './envelope.js';
import { actionQuery, deviceRefQuery } from './schemas.js';

export const MAX_LOG_PAGE = 1000;

/**
 * Ours: what a device reported about itself over `thing.log.post` and `network.status.report`
 * (docs/PROTOCOL.md §7.2), newest first, org-scoped like every call.
 */
export async function deviceLogRoutes(app: FastifyInstance, { registry, logs }: { registry: Registry; logs: DeviceLogs }): Promise<void> {
  connectRoute(app, {
    method: 'POST',
    resource: 'device-logs',
    action: 'query',
    schema: {
      tags: ['device-logs'],
      summary: 'Logs (kind "log") and network status reports (kind "network") of one device, newest first',
      querystring: actionQuery('query', deviceRefQuery),
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          kind: { type: 'string', enum: ['log', 'network'] },
          level: { type: 'string', enum: logLevels },
          startTime: { type: 'integer', minimum: 0 },
          endTime: { type: 'integer', minimum: 0 },
          pageSize: { type: 'integer', minimum: 1, maximum: MAX_LOG_PAGE },
        },
      },
    },
    handler: async (req) => {
      const device = await registry.devices.require(req.orgId!, deviceRefOf(req.query as object));
      const body = (req.body ?? {}) as { kind?: DeviceLogKind; level?: LogLevel; startTime?: number; endTime?: number; pageSize?: number };
      const items = await logs.query({ assetId: device.assetId, limit: body.pageSize ?? 100, ...pick(body) });
      return ok(
        req.id,
        items.map(({ logId: _l, orgId: _o, ...rest }) => rest),
      );
    },
  });
}

function pick(b: { kind?: DeviceLogKind; level?: LogLevel; startTime?: number; endTime?: number }) {
  const out: { kind?: DeviceLogKind; level?: LogLevel; startTime?: number; endTime?: number } = {};
  if (b.kind) out.kind = b.kind;
  if (b.level) out.level = b.level;
  if (b.startTime !== undefined) out.startTime = b.startTime;
  if (b.endTime !== undefined) out.endTime = b.endTime;
  return out;
}
