import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/index.js';

/**
 * /docs/json is a valid OpenAPI 3.1 document (docs/PROTOCOL.md, "OpenAPI document"): no query
 * string in a path key, one operation per path and method with `action` as an enum, and every EnOS
 * action still documented on its own in `x-enos-actions` under a stable operationId.
 */
type Json = Record<string, unknown>;
interface ActionOp {
  action: string;
  operationId: string;
  summary?: string;
  requestBody?: Json;
}
interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: { enum?: string[] } }[];
  requestBody?: { content: { 'application/json': { schema: { oneOf?: Json[]; title?: string } } } };
  'x-enos-actions'?: ActionOp[];
}

describe('the OpenAPI document', () => {
  let h: RunningHub;
  let doc: { openapi: string; paths: Record<string, Record<string, Operation>> };
  beforeAll(async () => {
    h = await startHub();
    doc = (await (await fetch(`${h.baseUrl}/docs/json`)).json()) as typeof doc;
  });
  afterAll(async () => {
    await h?.close();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

  it('passes an OpenAPI schema validator', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('has no query string in a path key', () => {
    expect(Object.keys(doc.paths).filter((p) => /[?#=]/.test(p))).toEqual([]);
  });

  it('gives every operation and every EnOS action a distinct operationId', () => {
    const ids = operations().flatMap(({ op }) => [op.operationId, ...(op['x-enos-actions'] ?? []).map((a) => a.operationId)]);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(ids.length).toBe(new Set(ids).size);
  });

  it('documents each action of a resource in its operation: the action enum, its body in oneOf, x-enos-actions', () => {
    const devices = doc.paths['/connect-service/v2.1/devices']!;
    const post = devices['post']!;
    expect(post.operationId).toBe('postDevices');
    const action = post.parameters!.find((p) => p.name === 'action' && p.in === 'query')!;
    expect(action.required).toBe(true);
    expect(action.schema!.enum).toEqual(
      expect.arrayContaining(['create', 'batchCreate', 'search', 'update', 'delete', 'enable', 'disable']),
    );
    const actions = post['x-enos-actions']!;
    expect(actions.map((a) => a.action)).toEqual(action.schema!.enum);
    const create = actions.find((a) => a.action === 'create')!;
    expect(create.operationId).toBe('devices.create');
    expect(create.summary).toMatch(/create a device/i);
    const bodies = post.requestBody!.content['application/json'].schema.oneOf!;
    expect(bodies.map((b) => b['title'])).toContain('create');
    expect(bodies.find((b) => b['title'] === 'create')).toMatchObject({ required: expect.arrayContaining(['productKey', 'deviceName']) });
    expect(devices['get']!['x-enos-actions']!.map((a) => a.operationId)).toEqual(['devices.get']);
  });

  it('keeps the EnOS actions a client calls by their operationIds', () => {
    const byId = new Map(
      operations().flatMap(({ path, method, op }) =>
        (op['x-enos-actions'] ?? []).map((a) => [a.operationId, { path, method, a }] as const),
      ),
    );
    for (const [id, path, method] of [
      ['products.create', '/connect-service/v2.1/products', 'post'],
      ['products.get', '/connect-service/v2.1/products', 'get'],
      ['devices.batchCreate', '/connect-service/v2.1/devices', 'post'],
      ['deviceTopos.addSubDevice', '/connect-service/v2.1/device-topos', 'post'],
      ['commands.invokeService', '/connect-service/v2.1/commands', 'post'],
      ['measurepoints.queryHistory', '/connect-service/v2.1/measurepoints', 'post'],
      ['certificates.apply', '/connect-service/v2.1/certificates', 'post'],
      ['connectionStates.get', '/connect-service/v2.1/connection-states', 'get'],
    ] as const) {
      expect(byId.get(id), id).toMatchObject({ path, method });
    }
    const ops = new Map(operations().map(({ path, method, op }) => [`${method} ${path}`, op.operationId]));
    expect(ops.get('post /apim-token-service/v2.0/token/get')).toBe('postApimTokenServiceV20TokenGet');
    expect(ops.get('get /admin/v1/organizations/{orgId}')).toBe('getAdminV1OrganizationsByOrgId');
  });

  it('serves the browsable docs UI', async () => {
    const ui = await fetch(`${h.baseUrl}/docs`, { redirect: 'follow' });
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/swagger/i);
  });
});
