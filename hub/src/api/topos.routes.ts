import type { FastifyInstance } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { connectRoute } from './connect-route.js';
import { deviceRefOf } from './device-ref.js';
import { deviceViews } from './device-view.js';
import { ok } from './envelope.js';
import { toFindOptions, type PaginationRequest } from './paging.js';
import { actionQuery, deviceRefBody, paginationRequestSchema } from './schemas.js';

type Ref = { assetId?: string; productKey?: string; deviceKey?: string };

const MAX_SUBS_PER_CALL = 1000;

/** Connection Service: gateway topology (docs/ENOS-PROTOCOL.md §7.3). */
export async function topoRoutes(app: FastifyInstance, { registry }: { registry: Registry }): Promise<void> {
  const tags = ['device-topos'];
  const gatewayAndSubs = {
    type: 'object',
    additionalProperties: false,
    required: ['gateway', 'subDevices'],
    properties: { gateway: deviceRefBody, subDevices: { type: 'array', minItems: 1, maxItems: MAX_SUBS_PER_CALL, items: deviceRefBody } },
  };

  connectRoute(app, {
    method: 'POST',
    resource: 'device-topos',
    action: 'addSubDevice',
    schema: {
      tags,
      summary: 'Attach sub-devices to a gateway (all or nothing)',
      querystring: actionQuery('addSubDevice'),
      body: gatewayAndSubs,
    },
    handler: async (req) => {
      const body = req.body as { gateway: Ref; subDevices: Ref[] };
      const subs = body.subDevices.map((s, i) => deviceRefOf(s, `subDevices[${i}]`));
      await registry.topology.addSubDevices(req.orgId!, deviceRefOf(body.gateway, 'gateway'), subs);
      return ok(req.id, null);
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'device-topos',
    action: 'removeSubDevice',
    schema: { tags, summary: 'Detach sub-devices from a gateway', querystring: actionQuery('removeSubDevice'), body: gatewayAndSubs },
    handler: async (req) => {
      const body = req.body as { gateway: Ref; subDevices: Ref[] };
      const subs = body.subDevices.map((s, i) => deviceRefOf(s, `subDevices[${i}]`));
      await registry.topology.removeSubDevices(req.orgId!, deviceRefOf(body.gateway, 'gateway'), subs);
      return ok(req.id, null);
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'device-topos',
    action: 'searchSubDevice',
    schema: {
      tags,
      summary: 'List the sub-devices of a gateway',
      querystring: actionQuery('searchSubDevice'),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['gateway'],
        properties: { gateway: deviceRefBody, pagination: paginationRequestSchema },
      },
    },
    handler: async (req) => {
      const body = req.body as { gateway: Ref; pagination?: PaginationRequest };
      const { options, page } = toFindOptions(body.pagination, { createTime: 'createTime', deviceKey: 'deviceKey' }, [
        { field: 'createTime', order: 'DESC' },
        { field: 'assetId', order: 'ASC' },
      ]);
      const found = await registry.topology.searchSubDevices(req.orgId!, deviceRefOf(body.gateway, 'gateway'), options);
      return { ...ok(req.id, await deviceViews(registry, found.items)), pagination: { ...page, totalSize: found.total } };
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'device-topos',
    action: 'getGateway',
    schema: {
      tags,
      summary: 'The gateway of a sub-device (data is null when it has none)',
      querystring: actionQuery('getGateway'),
      body: { type: 'object', additionalProperties: false, required: ['subDevice'], properties: { subDevice: deviceRefBody } },
    },
    handler: async (req) => {
      const body = req.body as { subDevice: Ref };
      const gw = await registry.topology.getGateway(req.orgId!, deviceRefOf(body.subDevice, 'subDevice'));
      return ok(req.id, gw ? (await deviceViews(registry, [gw]))[0] : null);
    },
  });
}
