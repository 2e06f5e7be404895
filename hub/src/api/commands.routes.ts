import { EnosError, codes } from '@edgehub/shared';
import type { FastifyInstance } from 'fastify';
import type { CommandCore } from '../commands/command-core.js';
import type { CommandRecord } from '../commands/records.js';
import type { Registry } from '../registry/registry.js';
import { checkValue } from '../registry/thing-model.js';
import { connectRoute } from './connect-route.js';
import { deviceRefOf } from './device-ref.js';
import { ok } from './envelope.js';
import { parseExpression, type FieldMap } from './expression.js';
import { toFindOptions, type PaginationRequest } from './paging.js';
import { actionQuery, deviceRefQuery, keySchema, searchBodySchema } from './schemas.js';

/** Room left in a 512 KB MQTT payload (docs/ENOS-PROTOCOL.md §3) for the envelope around the params. */
const MAX_PARAMS_BYTES = 512 * 1024 - 1024;
const digits = (max: number) => ({ type: 'string', pattern: `^[0-9]{1,${max}}$` });

const commandFields: FieldMap = {
  path: (f) => (['assetId', 'productKey', 'deviceKey', 'status', 'kind', 'name', 'createdAt', 'commandId'].includes(f) ? f : undefined),
};

/** Connection Service: commands (docs/ENOS-PROTOCOL.md §7.3). */
export async function commandRoutes(
  app: FastifyInstance,
  { registry, commands }: { registry: Registry; commands: CommandCore },
): Promise<void> {
  const tags = ['commands'];
  const timing = { pendingTtl: digits(6), timeout: digits(2) };

  const issue = async (
    req: { orgId?: string; query: unknown; caller?: { app: { accessKey: string } } },
    kind: CommandRecord['kind'],
    name: string,
    params: Record<string, unknown>,
  ) => {
    const q = req.query as { pendingTtl?: string; timeout?: string };
    const orgId = req.orgId!;
    const device = await registry.devices.require(orgId, deviceRefOf(req.query as object));
    const product = await registry.products.require(orgId, device.productKey);
    checkAgainstModel(product.thingModel, kind, name, params);
    if (Buffer.byteLength(JSON.stringify(params)) > MAX_PARAMS_BYTES)
      throw new EnosError(codes.invalidArgument, 'Invalid Argument: command params exceed the 512 KB MQTT payload limit');
    const timeout = q.timeout === undefined ? 30 : Number(q.timeout);
    if (timeout < 1 || timeout > 60) throw new EnosError(codes.invalidArgument, 'Invalid Argument timeout: from 1 to 60 seconds');
    const pendingTtlSeconds = q.pendingTtl === undefined ? 0 : Number(q.pendingTtl);
    return commands.issue({
      target: device,
      kind,
      name,
      params,
      pendingTtlSeconds,
      timeoutMs: timeout * 1000,
      by: req.caller!.app.accessKey,
    });
  };

  const answer = (requestId: string, c: CommandRecord, withOutput: boolean) => {
    if (c.status === 'replied' && c.reply && c.reply.code !== 200) {
      throw new EnosError(
        codes.commandDeviceError,
        `Device answered ${c.reply.code}${c.reply.message ? `: ${c.reply.message}` : ''} (commandId ${c.commandId})`,
      );
    }
    return ok(
      requestId,
      withOutput && c.status === 'replied' ? { commandId: c.commandId, outputData: c.reply?.data ?? null } : { commandId: c.commandId },
    );
  };

  connectRoute(app, {
    method: 'POST',
    resource: 'commands',
    action: 'invokeService',
    schema: {
      tags,
      summary: 'Invoke a service of a device: instant (pendingTtl=0) waits up to timeout for outputData; cached returns the commandId',
      querystring: actionQuery(
        'invokeService',
        {
          ...deviceRefQuery,
          serviceId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z_][A-Za-z0-9_.\\-]*$' },
          ...timing,
        },
        ['serviceId'],
      ),
      body: { type: 'object', additionalProperties: false, properties: { inputData: { type: 'object', maxProperties: 500 } } },
    },
    handler: async (req) => {
      const { serviceId } = req.query as { serviceId: string };
      const body = (req.body ?? {}) as { inputData?: Record<string, unknown> };
      return answer(req.id, await issue(req, 'invokeService', serviceId, body.inputData ?? {}), true);
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'commands',
    action: 'setMeasurepoint',
    schema: {
      tags,
      summary: 'Set a measurepoint on a device (thing.service.measurepoint.set)',
      querystring: actionQuery('setMeasurepoint', { ...deviceRefQuery, measurepointId: keySchema, ...timing }, ['measurepointId']),
      body: { type: 'object', additionalProperties: false, required: ['value'], properties: { value: {} } },
    },
    handler: async (req) => {
      const { measurepointId } = req.query as { measurepointId: string };
      const { value } = req.body as { value: unknown };
      return answer(req.id, await issue(req, 'setMeasurepoint', measurepointId, { [measurepointId]: value }), false);
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'commands',
    action: 'getMeasurepoint',
    schema: {
      tags,
      summary: 'Ask a device for the current values of measurepoints (thing.service.measurepoint.get); instant: outputData is {id: value}',
      description: 'Ours: EnOS defines the device topic (docs/ENOS-PROTOCOL.md §4.2) but no Connection Service action for it.',
      querystring: actionQuery('getMeasurepoint', { ...deviceRefQuery, ...timing }),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['measurepoints'],
        properties: { measurepoints: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: keySchema } },
      },
    },
    handler: async (req) => {
      const { measurepoints } = req.body as { measurepoints: string[] };
      return answer(req.id, await issue(req, 'getMeasurepoint', measurepoints.join(','), { measurepoints }), true);
    },
  });

  connectRoute(app, {
    method: 'GET',
    resource: 'commands',
    action: 'get',
    schema: {
      tags,
      summary: 'Get a command and its history',
      querystring: actionQuery('get', { commandId: { type: 'string', pattern: '^[0-9]{1,32}$' } }, ['commandId']),
    },
    handler: async (req) => ok(req.id, commandView(await commands.get(req.orgId!, (req.query as { commandId: string }).commandId))),
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'commands',
    action: 'search',
    schema: {
      tags,
      summary: 'Search commands (expression on assetId, productKey, deviceKey, status, kind, name, createdAt)',
      querystring: actionQuery('search'),
      body: searchBodySchema,
    },
    handler: async (req) => {
      const body = (req.body ?? {}) as { expression?: string; pagination?: PaginationRequest };
      const { options, page } = toFindOptions(body.pagination, { createdAt: 'createdAt', status: 'status' }, [
        { field: 'createdAt', order: 'DESC' },
        { field: 'commandId', order: 'DESC' },
      ]);
      const found = await commands.search(req.orgId!, parseExpression(body.expression, commandFields), options);
      return { ...ok(req.id, found.items.map(commandView)), pagination: { ...page, totalSize: found.total } };
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'commands',
    action: 'cancel',
    schema: {
      tags,
      summary: 'Cancel a cached command that has not been sent',
      querystring: actionQuery('cancel', { commandId: { type: 'string', pattern: '^[0-9]{1,32}$' } }, ['commandId']),
    },
    handler: async (req) => ok(req.id, commandView(await commands.cancel(req.orgId!, (req.query as { commandId: string }).commandId))),
  });
}

function commandView(c: CommandRecord) {
  return {
    commandId: c.commandId,
    assetId: c.assetId,
    productKey: c.productKey,
    deviceKey: c.deviceKey,
    kind: c.kind,
    ...(c.kind === 'invokeService'
      ? { serviceId: c.name, inputData: c.params }
      : c.kind === 'getMeasurepoint'
        ? { measurepoints: c.params['measurepoints'] }
        : { measurepointId: c.name, value: c.params[c.name] }),
    pendingTtl: c.pendingTtlSeconds,
    timeout: c.timeoutMs / 1000,
    status: c.status,
    createdAt: c.createdAt,
    expireAt: c.pendingTtlSeconds > 0 ? c.expireAt : null,
    sentAt: c.sentAt ?? null,
    repliedAt: c.repliedAt ?? null,
    reply: c.reply ? { code: c.reply.code, message: c.reply.message ?? null, outputData: c.reply.data } : null,
    history: c.history,
  };
}

function checkAgainstModel(
  model: import('../registry/thing-model.js').ThingModel,
  kind: CommandRecord['kind'],
  name: string,
  params: Record<string, unknown>,
): void {
  if (kind === 'invokeService') {
    if (Object.keys(model.services).length === 0) return;
    const service = model.services[name];
    if (!service) throw new EnosError(codes.invalidArgument, `Invalid Argument serviceId: ${name} is not a service of the thing model`);
    for (const [k, v] of Object.entries(params)) {
      const spec = service.inputData[k];
      if (!spec) throw new EnosError(codes.invalidArgument, `Invalid Argument inputData.${k}: not an input of service ${name}`);
      const why = checkValue(spec, v, `inputData.${k}`);
      if (why) throw new EnosError(codes.invalidArgument, `Invalid Argument ${why}`);
    }
    return;
  }
  if (Object.keys(model.measurepoints).length === 0) return;
  if (kind === 'getMeasurepoint') {
    const unknown = (params['measurepoints'] as string[]).find((id) => !model.measurepoints[id]);
    if (unknown !== undefined)
      throw new EnosError(codes.invalidArgument, `Invalid Argument measurepoints: ${unknown} is not a measurepoint of the thing model`);
    return;
  }
  const spec = model.measurepoints[name];
  if (!spec)
    throw new EnosError(codes.invalidArgument, `Invalid Argument measurepointId: ${name} is not a measurepoint of the thing model`);
  const why = checkValue(spec, params[name], 'value');
  if (why) throw new EnosError(codes.invalidArgument, `Invalid Argument ${why}`);
}
