import { streamTopics, topics } from '@edgehub/shared';
import { EnosError, codes } from '@edgehub/shared';
import type { FastifyInstance } from 'fastify';
import type { StreamHub } from '../stream/stream-hub.js';
import type { StreamEvent } from '../telemetry/stream-events.js';
import { orgQuery } from './schemas.js';

/** An SSE client that stops reading is cut off past this much unsent data (it reconnects). */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 15_000;

/**
 * Server-Sent Events for web clients: the same org-scoped stream MQTT applications subscribe to
 * (device data and lifecycle). Signed like every API call (apim headers), so the org check applies.
 */
export async function streamRoutes(app: FastifyInstance, { stream }: { stream: StreamHub }): Promise<void> {
  // Open streams end with the server, so a shutdown does not wait for clients to hang up.
  const open = new Set<import('node:http').ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });
  app.get(
    '/stream-service/v1/events',
    {
      schema: {
        tags: ['stream'],
        summary: 'Server-Sent Events of an organization: measurepoints, events, lifecycle (filter by productKey, deviceKey, types)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['orgId'],
          properties: {
            ...orgQuery,
            productKey: { type: 'string', minLength: 1, maxLength: 64 },
            deviceKey: { type: 'string', minLength: 1, maxLength: 64 },
            types: { type: 'string', pattern: '^(measurepoints|event|lifecycle)(,(measurepoints|event|lifecycle))*$' },
          },
        },
      },
    },
    async (req, reply) => {
      const q = req.query as { orgId: string; productKey?: string; deviceKey?: string; types?: string };
      for (const v of [q.productKey, q.deviceKey]) {
        if (v !== undefined && !topics.isValidSegment(v))
          throw new EnosError(codes.invalidArgument, `Invalid Argument: ${v} cannot be part of a topic`);
      }
      if (q.deviceKey && !q.productKey) throw new EnosError(codes.invalidArgument, 'Invalid Argument deviceKey: needs productKey');
      const orgId = req.orgId!;
      const filter = q.productKey ? `org/${orgId}/devices/${q.productKey}/${q.deviceKey ?? '+'}/#` : streamTopics.orgFilter(orgId);
      const types = q.types ? new Set(q.types.split(',')) : undefined;

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': connected\n\n');
      open.add(res);
      let closed = false;
      const unsubscribe = await stream.subscribe(filter, (e: StreamEvent) => {
        if (closed || (types && !types.has(e.type))) return;
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          req.log.warn({ orgId }, 'SSE client too slow: closing its stream');
          res.end();
          return;
        }
        res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      });
      const ping = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
      const close = () => {
        if (closed) return;
        closed = true;
        open.delete(res);
        clearInterval(ping);
        void unsubscribe();
      };
      res.on('close', close);
      req.raw.on('close', close);
    },
  );
}
