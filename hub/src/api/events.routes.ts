import { EnosError, codes } from '@edgehub/shared';
import type { FastifyInstance } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { InvalidTelemetryInput, MAX_HISTORY_LIMIT, type TelemetryStore } from '../telemetry/store/port.js';
import { connectRoute } from './connect-route.js';
import { deviceRefOf } from './device-ref.js';
import { ok } from './envelope.js';
import { DEFAULT_HISTORY_PAGE, MAX_HISTORY_POINTS, historyRange } from './measurepoints.routes.js';
import { actionQuery, deviceRefQuery } from './schemas.js';

const eventIdSchema = { type: 'string', minLength: 1, maxLength: 256 } as const;
const timeSchema = { type: ['integer', 'string'], minimum: 0, maxLength: 40 } as const;

interface EventHistoryBody {
  events: string[];
  startTime: number | string;
  endTime: number | string;
  order?: 'ASC' | 'DESC' | 'asc' | 'desc';
  pageSize?: number;
  cursor?: string;
}

/**
 * A device's past events (`thing.event.{eventId}.post`, docs/PROTOCOL.md §3.2): ours, like
 * measurepoint queryHistory, read from the hub's history store with the same range, order and
 * cursor rules, signed, org-scoped and enveloped like the other Connection Service calls.
 */
export async function eventRoutes(
  app: FastifyInstance,
  { registry, telemetry }: { registry: Registry; telemetry: Pick<TelemetryStore, 'eventHistory'> },
): Promise<void> {
  connectRoute(app, {
    method: 'POST',
    resource: 'events',
    action: 'queryHistory',
    schema: {
      tags: ['events'],
      summary: `Events of one device (up to ${MAX_HISTORY_POINTS} event ids) over startTime <= time < endTime (at most 31 days), paged with a cursor`,
      description:
        'Ours, not an EnOS Connection Service action. Times are epoch milliseconds or ISO 8601 date-times with a zone; ' +
        'pass nextCursor back with the same query to read the next page (null: no more data).',
      querystring: actionQuery('queryHistory', deviceRefQuery),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['events', 'startTime', 'endTime'],
        properties: {
          events: { type: 'array', minItems: 1, maxItems: MAX_HISTORY_POINTS, uniqueItems: true, items: eventIdSchema },
          startTime: timeSchema,
          endTime: timeSchema,
          order: { type: 'string', enum: ['ASC', 'DESC', 'asc', 'desc'] },
          pageSize: { type: 'integer', minimum: 1, maximum: MAX_HISTORY_LIMIT },
          cursor: { type: 'string', minLength: 1, maxLength: 1024 },
        },
      },
    },
    handler: async (req) => {
      const body = req.body as EventHistoryBody;
      const device = await registry.devices.require(req.orgId!, deviceRefOf(req.query as object));
      const { startTime, endTime } = historyRange(body);
      try {
        const page = await telemetry.eventHistory({
          assetId: device.assetId,
          eventIds: body.events,
          startTime,
          endTime,
          order: body.order?.toUpperCase() === 'DESC' ? 'DESC' : 'ASC',
          limit: body.pageSize ?? DEFAULT_HISTORY_PAGE,
          ...(body.cursor !== undefined ? { cursor: body.cursor } : {}),
        });
        return ok(req.id, {
          items: page.items.map((e) => ({ eventId: e.eventId, time: e.time, values: e.values })),
          nextCursor: page.nextCursor,
        });
      } catch (err) {
        if (err instanceof InvalidTelemetryInput)
          throw new EnosError(codes.invalidArgument, `Invalid Argument ${err.field === 'eventIds' ? 'events' : err.field}: ${err.reason}`);
        throw err;
      }
    },
  });
}
