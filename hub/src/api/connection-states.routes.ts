import type { FastifyInstance } from 'fastify';
import type { Registry } from '../registry/registry.js';
import type { ConnectionNode, ConnectionStateReport } from '../router/connection-state.js';
import { CONNECTION_STATE_EVENT } from '../telemetry/telemetry-ingest.js';
import { MAX_HISTORY_LIMIT, type TelemetryStore } from '../telemetry/store/port.js';
import { connectRoute } from './connect-route.js';
import { deviceRefOf } from './device-ref.js';
import { ok } from './envelope.js';
import { actionQuery, deviceRefQuery } from './schemas.js';

/** Partial reports read back, at most, to find the full report they amend. */
const MAX_REPORTS = 5 * MAX_HISTORY_LIMIT;

const stateNames = { 1: 'connected', 2: 'disconnected', 3: 'unknown' } as const;

export interface NodeView extends ConnectionNode {
  stateName: (typeof stateNames)[keyof typeof stateNames];
  /** reportTime of the report that last named this node. */
  time: number;
}

/**
 * The southbound connection states an edge gateway reports with `connection.state.post`
 * (docs/PROTOCOL.md §5.7): the last full report with every partial report after it applied, one
 * entry per node. Org-scoped like every Connection Service call: another org's gateway is 11404.
 */
export async function connectionStateRoutes(
  app: FastifyInstance,
  { registry, telemetry }: { registry: Registry; telemetry: Pick<TelemetryStore, 'eventHistory'> },
): Promise<void> {
  connectRoute(app, {
    method: 'GET',
    resource: 'connection-states',
    action: 'get',
    schema: {
      tags: ['connection-states'],
      summary: "The southbound nodes an edge gateway reports (connection.state.post): each node's last reported state",
      querystring: actionQuery('get', deviceRefQuery),
    },
    handler: async (req) => {
      const gw = await registry.devices.require(req.orgId!, deviceRefOf(req.query as object));
      const reports = await reportsSinceLastFull(telemetry, gw.assetId);
      const nodes = new Map<string, NodeView>();
      for (const { report, time } of reports) {
        if (report.isFull) nodes.clear();
        for (const n of report.nodes ?? []) nodes.set(n.nodeId, { ...n, stateName: stateNames[n.state] ?? 'unknown', time });
      }
      const last = reports[reports.length - 1];
      return ok(req.id, {
        assetId: gw.assetId,
        productKey: gw.productKey,
        deviceKey: gw.deviceKey,
        reportTime: last?.time ?? null,
        nodes: [...nodes.values()],
      });
    },
  });
}

/** The newest full report and the partial ones after it, oldest first (every report kept, when no full one is left). */
async function reportsSinceLastFull(
  telemetry: Pick<TelemetryStore, 'eventHistory'>,
  assetId: string,
): Promise<{ report: Partial<ConnectionStateReport>; time: number }[]> {
  const newestFirst: { report: Partial<ConnectionStateReport>; time: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await telemetry.eventHistory({
      assetId,
      eventIds: [CONNECTION_STATE_EVENT],
      startTime: 0,
      endTime: Date.now() + 86_400_000,
      order: 'DESC',
      limit: MAX_HISTORY_LIMIT,
      ...(cursor ? { cursor } : {}),
    });
    for (const e of page.items) {
      const report = (e.values['state'] ?? {}) as Partial<ConnectionStateReport>;
      newestFirst.push({ report, time: e.time });
      if (report.isFull) return newestFirst.reverse();
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor && newestFirst.length < MAX_REPORTS);
  return newestFirst.reverse();
}
