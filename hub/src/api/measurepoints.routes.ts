import { EnosError, codes } from '@edgehub/shared';
import type { FastifyInstance } from 'fastify';
import type { DeviceIdentity } from '../registry/device-lookup.js';
import type { Registry } from '../registry/registry.js';
import { InvalidTelemetryInput, MAX_HISTORY_LIMIT, MAX_TIME, type TelemetryStore } from '../telemetry/store/port.js';
import { connectRoute } from './connect-route.js';
import { deviceRefOf } from './device-ref.js';
import { ok } from './envelope.js';
import { actionQuery, deviceRefQuery, keySchema } from './schemas.js';

/** Devices per queryLatest call, for assetIds and for devices each. */
export const MAX_LATEST_DEVICES = 200;
/** Measurepoints per history query. */
export const MAX_HISTORY_POINTS = 50;
/** Longest history range per query: one month of data at most in one pass of paging. */
export const MAX_HISTORY_RANGE_MS = 31 * 24 * 3600_000;
export const DEFAULT_HISTORY_PAGE = 100;

const pointIdSchema = { type: 'string', minLength: 1, maxLength: 256 } as const;
/** Epoch milliseconds, or an ISO 8601 date-time with an explicit zone (Z or ±hh:mm). */
const timeSchema = { type: ['integer', 'string'], minimum: 0, maxLength: 40 } as const;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Store field names as the API calls them. */
const apiField: Record<string, string> = { pointIds: 'measurepoints', limit: 'pageSize' };

interface LatestBody {
  assetIds?: string[];
  devices?: { productKey: string; deviceKey: string }[];
  measurepoints?: string[];
}

interface HistoryBody {
  measurepoints: string[];
  startTime: number | string;
  endTime: number | string;
  order?: 'ASC' | 'DESC' | 'asc' | 'desc';
  pageSize?: number;
  cursor?: string;
}

/**
 * Connection Service: measurepoint values (docs/ENOS-PROTOCOL.md §7.3, "Latest measurepoints").
 * `queryHistory` is ours: EnOS serves history from a separate TSDB service, not from the
 * Connection Service; here the hub's own history store answers it, in the same signed,
 * org-scoped, enveloped style as the other Connection Service calls.
 */
export async function measurepointRoutes(
  app: FastifyInstance,
  { registry, telemetry }: { registry: Registry; telemetry: Pick<TelemetryStore, 'latest' | 'history'> },
): Promise<void> {
  const tags = ['measurepoints'];

  connectRoute(app, {
    method: 'POST',
    resource: 'measurepoints',
    action: 'queryLatest',
    schema: {
      tags,
      summary: 'Latest measurepoint values of devices (by assetIds and/or productKey + deviceKey), optionally only the named measurepoints',
      querystring: actionQuery('queryLatest'),
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          assetIds: { type: 'array', maxItems: MAX_LATEST_DEVICES, items: { type: 'string', minLength: 1, maxLength: 64 } },
          devices: {
            type: 'array',
            maxItems: MAX_LATEST_DEVICES,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['productKey', 'deviceKey'],
              properties: { productKey: keySchema, deviceKey: keySchema },
            },
          },
          measurepoints: { type: 'array', maxItems: 1000, items: pointIdSchema },
        },
      },
    },
    handler: async (req) => {
      const orgId = req.orgId!;
      const body = (req.body ?? {}) as LatestBody;
      const assetIds = body.assetIds ?? [];
      const keyed = body.devices ?? [];
      if (assetIds.length + keyed.length === 0)
        throw new EnosError(codes.invalidArgument, 'Invalid Argument assetIds: assetIds or devices is required');
      // The devices named by assetId in one registry read (held in memory on a single hub), those named by keys one by one (docs/BENCHMARKS.md, "queryLatest").
      const [byAssetId, byKeys] = await Promise.all([
        registry.devices.identities(assetIds),
        Promise.all(keyed.map((d) => registry.devices.find({ productKey: d.productKey, deviceKey: d.deviceKey }))),
      ]);
      // Each device once, in the order first asked; the first one missing or of another org is named.
      const devices = new Map<string, DeviceIdentity>();
      assetIds.forEach((assetId, i) => {
        const d = inOrg(byAssetId.get(assetId), orgId, 'assetIds', i);
        if (!devices.has(d.assetId)) devices.set(d.assetId, d);
      });
      byKeys.forEach((found, i) => {
        const d = inOrg(found, orgId, 'devices', i);
        if (!devices.has(d.assetId)) devices.set(d.assetId, d);
      });
      // No list, or an empty one, means every measurepoint (as `thing.attribute.query` reads an empty list).
      const points = body.measurepoints?.length ? body.measurepoints : undefined;
      const latest = await telemetry.latest([...devices.keys()], points);
      const data = [];
      for (const d of devices.values()) {
        data.push({ assetId: d.assetId, productKey: d.productKey, deviceKey: d.deviceKey, measurepoints: latest.get(d.assetId) ?? {} });
      }
      return ok(req.id, data);
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'measurepoints',
    action: 'queryHistory',
    schema: {
      tags,
      summary: `History of up to ${MAX_HISTORY_POINTS} measurepoints of one device over startTime <= time < endTime (at most 31 days), paged with a cursor`,
      description:
        'Ours, not an EnOS Connection Service action (EnOS keeps history in its TSDB service). Times are epoch milliseconds or ISO 8601 date-times with a zone. ' +
        'Items come in (time, measurepoint) order, then in arrival order within one millisecond, reversed for DESC; pass nextCursor back with the same query to read the next page (null: no more data).',
      querystring: actionQuery('queryHistory', deviceRefQuery),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['measurepoints', 'startTime', 'endTime'],
        properties: {
          measurepoints: { type: 'array', minItems: 1, maxItems: MAX_HISTORY_POINTS, uniqueItems: true, items: pointIdSchema },
          startTime: timeSchema,
          endTime: timeSchema,
          // Either case, like the CLI's --order: upper case only refused `desc` with a bare schema error.
          order: { type: 'string', enum: ['ASC', 'DESC', 'asc', 'desc'] },
          pageSize: { type: 'integer', minimum: 1, maximum: MAX_HISTORY_LIMIT },
          cursor: { type: 'string', minLength: 1, maxLength: 1024 },
        },
      },
    },
    handler: async (req) => {
      const body = req.body as HistoryBody;
      const device = await registry.devices.require(req.orgId!, deviceRefOf(req.query as object));
      const { startTime, endTime } = historyRange(body);
      const query: Parameters<TelemetryStore['history']>[0] = {
        assetId: device.assetId,
        pointIds: body.measurepoints,
        startTime,
        endTime,
        order: body.order === undefined ? 'ASC' : body.order.toUpperCase() === 'DESC' ? 'DESC' : 'ASC',
        limit: body.pageSize ?? DEFAULT_HISTORY_PAGE,
      };
      if (body.cursor !== undefined) query.cursor = body.cursor;
      try {
        const page = await telemetry.history(query);
        const items = page.items.map((s) => ({
          measurepoint: s.pointId,
          time: s.time,
          value: s.value,
          ...(s.quality === undefined ? {} : { quality: s.quality }),
          // Marks data that came as offline/historical data (thing.measurepoint.resume).
          ...(s.resume ? { resume: true } : {}),
        }));
        return ok(req.id, { items, nextCursor: page.nextCursor });
      } catch (err) {
        if (err instanceof InvalidTelemetryInput)
          throw new EnosError(codes.invalidArgument, `Invalid Argument ${apiField[err.field] ?? err.field}: ${err.reason}`);
        throw err;
      }
    },
  });
}

/** The device if it is in this org, or 11404 naming the request's field. Another org's device is indistinguishable from a missing one. */
function inOrg<D extends DeviceIdentity>(d: D | undefined, orgId: string, list: string, index: number): D {
  if (!d || d.orgId !== orgId) throw new EnosError(codes.deviceNotFound, `Device cannot be found: ${list}[${index}]`);
  return d;
}

/** A history query's range, startTime <= time < endTime, at most 31 days; 99400 naming the field otherwise. */
export function historyRange(body: { startTime: number | string; endTime: number | string }): { startTime: number; endTime: number } {
  const startTime = parseTime(body.startTime, 'startTime');
  const endTime = parseTime(body.endTime, 'endTime');
  if (endTime <= startTime)
    throw new EnosError(
      codes.invalidArgument,
      'Invalid Argument endTime: must be later than startTime (the range is startTime <= time < endTime)',
    );
  if (endTime - startTime > MAX_HISTORY_RANGE_MS)
    throw new EnosError(codes.invalidArgument, 'Invalid Argument endTime: the range may span at most 31 days from startTime');
  return { startTime, endTime };
}

export function parseTime(v: number | string, field: string): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0 || v > MAX_TIME)
      throw new EnosError(codes.invalidArgument, `Invalid Argument ${field}: must be epoch milliseconds from 0 to ${MAX_TIME}`);
    return v;
  }
  const ms = ISO_DATE_TIME.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) {
    throw new EnosError(
      codes.invalidArgument,
      `Invalid Argument ${field}: must be epoch milliseconds or an ISO 8601 date-time with a zone, e.g. 2024-05-01T08:00:00+08:00`,
    );
  }
  return ms;
}
