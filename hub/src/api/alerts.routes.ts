import type { FastifyInstance } from 'fastify';
import type { AlertEngine } from '../alerts/alert-engine.js';
import { ruleView, type AlertRules, type NewAlertRule } from '../alerts/alert-rules.js';
import { operators, severities, type AlertStatus } from '../alerts/records.js';
import type { Registry } from '../registry/registry.js';
import { EnosError, codes } from '@edgehub/shared';
import { connectRoute } from './connect-route.js';
import { ok } from './envelope.js';
import { actionQuery, keySchema } from './schemas.js';

const idSchema = { type: 'string', minLength: 1, maxLength: 64 } as const;
const pointId = { type: 'string', minLength: 1, maxLength: 256 } as const;
const condition = {
  type: 'object',
  additionalProperties: false,
  required: ['op', 'value'],
  properties: { op: { type: 'string', enum: operators }, value: { type: ['number', 'string', 'boolean'], maxLength: 256 } },
} as const;

/**
 * Ours, after the EnOS alert service: alert rules per product or device, and the alerts they
 * open, with their open → acknowledged → closed life cycle (docs/PROTOCOL.md §7.4).
 */
export async function alertRoutes(
  app: FastifyInstance,
  { registry, rules, engine }: { registry: Registry; rules: AlertRules; engine: AlertEngine },
): Promise<void> {
  const tags = ['alerts'];

  connectRoute(app, {
    method: 'POST',
    resource: 'alert-rules',
    action: 'create',
    schema: {
      tags,
      summary: 'Create an alert rule on a measurepoint or an event field; the webhook secret is returned this once',
      querystring: actionQuery('create'),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['productKey', 'name', 'severity', 'source', 'trigger'],
        properties: {
          productKey: keySchema,
          deviceKey: keySchema,
          name: { type: 'string', minLength: 1, maxLength: 256 },
          severity: { type: 'string', enum: severities },
          source: {
            oneOf: [
              { type: 'object', additionalProperties: false, required: ['measurepoint'], properties: { measurepoint: pointId } },
              {
                type: 'object',
                additionalProperties: false,
                required: ['eventId', 'field'],
                properties: { eventId: pointId, field: pointId },
              },
            ],
          },
          trigger: condition,
          recovery: condition,
          durationSeconds: { type: 'integer', minimum: 0, maximum: 86_400 },
          enabled: { type: 'boolean' },
          webhookUrl: { type: 'string', minLength: 8, maxLength: 2048, pattern: '^https?://' },
        },
      },
    },
    handler: async (req) => {
      const body = req.body as NewAlertRule;
      await registry.products.require(req.orgId!, body.productKey);
      if (body.deviceKey !== undefined)
        await registry.devices.require(req.orgId!, { productKey: body.productKey, deviceKey: body.deviceKey });
      if (body.webhookUrl !== undefined && !URL.canParse(body.webhookUrl))
        throw new EnosError(codes.invalidArgument, 'Invalid Argument webhookUrl: not a URL');
      const rule = await rules.create(req.orgId!, body);
      return ok(req.id, rule);
    },
  });

  connectRoute(app, {
    method: 'GET',
    resource: 'alert-rules',
    action: 'list',
    schema: { tags, summary: 'Alert rules, optionally of one product', querystring: actionQuery('list', { productKey: keySchema }) },
    handler: async (req) => ok(req.id, (await rules.list(req.orgId!, (req.query as { productKey?: string }).productKey)).map(ruleView)),
  });

  for (const [action, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    connectRoute(app, {
      method: 'POST',
      resource: 'alert-rules',
      action,
      schema: {
        tags,
        summary: `${action === 'enable' ? 'Enable' : 'Disable'} an alert rule`,
        querystring: actionQuery(action, { ruleId: idSchema }, ['ruleId']),
      },
      handler: async (req) => ok(req.id, ruleView(await rules.setEnabled(req.orgId!, (req.query as { ruleId: string }).ruleId, enabled))),
    });
  }

  connectRoute(app, {
    method: 'POST',
    resource: 'alert-rules',
    action: 'delete',
    schema: {
      tags,
      summary: 'Delete an alert rule (its alerts are kept)',
      querystring: actionQuery('delete', { ruleId: idSchema }, ['ruleId']),
    },
    handler: async (req) => {
      await rules.delete(req.orgId!, (req.query as { ruleId: string }).ruleId);
      return ok(req.id, null);
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'alerts',
    action: 'search',
    schema: {
      tags,
      summary: 'Alerts, newest trigger first',
      querystring: actionQuery('search'),
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          status: { type: 'string', enum: ['open', 'acknowledged', 'closed'] },
          assetId: idSchema,
          ruleId: idSchema,
          pageSize: { type: 'integer', minimum: 1, maximum: 1000 },
        },
      },
    },
    handler: async (req) => {
      const b = (req.body ?? {}) as { status?: AlertStatus; assetId?: string; ruleId?: string; pageSize?: number };
      const q: Parameters<AlertEngine['search']>[1] = { limit: b.pageSize ?? 100 };
      if (b.status) q.status = b.status;
      if (b.assetId) q.assetId = b.assetId;
      if (b.ruleId) q.ruleId = b.ruleId;
      return ok(req.id, await engine.search(req.orgId!, q));
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'alerts',
    action: 'acknowledge',
    schema: { tags, summary: 'Acknowledge an open alert', querystring: actionQuery('acknowledge', { alertId: idSchema }, ['alertId']) },
    handler: async (req) =>
      ok(req.id, await engine.acknowledge(req.orgId!, (req.query as { alertId: string }).alertId, req.caller!.app.accessKey)),
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'alerts',
    action: 'close',
    schema: {
      tags,
      summary: 'Close an alert by hand; the next trigger opens a new one',
      querystring: actionQuery('close', { alertId: idSchema }, ['alertId']),
    },
    handler: async (req) => ok(req.id, await engine.close(req.orgId!, (req.query as { alertId: string }).alertId)),
  });
}
