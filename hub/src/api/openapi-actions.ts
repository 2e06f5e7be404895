/**
 * The OpenAPI document at /docs/json (docs/PROTOCOL.md, "OpenAPI document"). Each EnOS action is its
 * own fastify route (`POST /connect-service/v2.1/devices?action=create`), but an OpenAPI path key
 * holds no query string and a path has one operation per method. So the actions of one resource and
 * method become one operation: `action` is a required query parameter whose enum lists them, the
 * request body is a `oneOf` of the actions' bodies (each titled by its action), and
 * `x-enos-actions` keeps every action's own operationId, summary, parameters, body and responses.
 */

type Json = Record<string, unknown>;

/** One EnOS action as documented in its resource's operation (`x-enos-actions`). */
export interface ActionOperation {
  action: string;
  operationId: string;
  summary?: string;
  parameters?: Json[];
  requestBody?: Json;
  responses?: Json;
  tags?: string[];
}

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `/connect-service/v2.1/device-topos` → `DeviceTopos`; `/admin/v1/organizations/{orgId}` → `AdminV1OrganizationsByOrgId`. */
function pascalPath(path: string): string {
  return path
    .split('/')
    .filter(Boolean)
    .map((seg) => {
      const param = /^\{(.+)\}$/.exec(seg);
      const words = (param ? `by-${param[1]}` : seg).split(/[^A-Za-z0-9]+/).filter(Boolean);
      return words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
    })
    .join('');
}

/** The Connection Service resource of a path: `/connect-service/v2.1/device-topos` → `deviceTopos`. */
function resourceName(path: string): string {
  const last = pascalPath(path.split('/').pop() ?? '');
  return last[0]!.toLowerCase() + last.slice(1);
}

/** `devices.create`: stable, and what a client names an EnOS call by. */
export function actionOperationId(path: string, action: string): string {
  return `${resourceName(path)}.${action}`;
}

/** `postDevices` for the actions of POST /connect-service/…/devices; `getAdminV1Organizations` for the rest. */
export function pathOperationId(method: string, path: string): string {
  const base = path.startsWith('/connect-service/') ? pascalPath(path.split('/').pop() ?? '') : pascalPath(path);
  return `${method}${base}`;
}

function titled(schema: unknown, title: string): unknown {
  return isObject(schema) ? { title, ...schema } : schema;
}

/** Merges the actions of one path and method into one operation. */
function mergeActions(path: string, method: string, actions: ActionOperation[]): Json {
  const names = actions.map((a) => a.action);
  const params = new Map<string, Json>();
  for (const a of actions) {
    for (const p of a.parameters ?? []) {
      if (p['in'] === 'query' && p['name'] === 'action') continue;
      const key = `${String(p['in'])}:${String(p['name'])}`;
      // Which query parameters are required depends on the action: x-enos-actions says so per action.
      if (!params.has(key)) params.set(key, { ...p, required: p['in'] === 'path' ? true : false });
    }
  }
  const operation: Json = {
    operationId: pathOperationId(method, path),
    summary: `${resourceName(path)}: ${names.join(', ')}`,
    description: actions.map((a) => `- \`action=${a.action}\` (${a.operationId}): ${a.summary ?? ''}`).join('\n'),
    parameters: [
      { name: 'action', in: 'query', required: true, description: 'The EnOS action', schema: { type: 'string', enum: names } },
      ...params.values(),
    ],
    'x-enos-actions': actions,
  };
  const tags = [...new Set(actions.flatMap((a) => a.tags ?? []))];
  if (tags.length > 0) operation['tags'] = tags;
  const bodies = actions.filter((a) => a.requestBody);
  if (bodies.length > 0) operation['requestBody'] = mergeBodies(bodies, actions.length);
  operation['responses'] = mergeResponses(actions);
  return operation;
}

function mergeBodies(actions: ActionOperation[], total: number): Json {
  const schemas = actions.map((a) => {
    const content = (a.requestBody?.['content'] as Json | undefined)?.['application/json'] as Json | undefined;
    return titled(content?.['schema'] ?? {}, a.action);
  });
  const everyActionNeedsOne = actions.length === total && actions.every((a) => a.requestBody?.['required'] === true);
  return {
    required: everyActionNeedsOne,
    content: { 'application/json': { schema: schemas.length === 1 ? schemas[0] : { oneOf: schemas } } },
  };
}

function mergeResponses(actions: ActionOperation[]): Json {
  const byStatus = new Map<string, { description: string; schemas: unknown[] }>();
  for (const a of actions) {
    for (const [status, response] of Object.entries(a.responses ?? {})) {
      if (!isObject(response)) continue;
      const entry = byStatus.get(status) ?? {
        description: typeof response['description'] === 'string' ? response['description'] : 'Response',
        schemas: [],
      };
      const schema = ((response['content'] as Json | undefined)?.['application/json'] as Json | undefined)?.['schema'];
      if (schema !== undefined) entry.schemas.push(titled(schema, a.action));
      byStatus.set(status, entry);
    }
  }
  const out: Json = {};
  for (const [status, { description, schemas }] of byStatus) {
    out[status] =
      schemas.length === 0
        ? { description }
        : { description, content: { 'application/json': { schema: schemas.length === 1 ? schemas[0] : { oneOf: schemas } } } };
  }
  if (Object.keys(out).length === 0) out['200'] = { description: 'Default Response' };
  return out;
}

/**
 * Rewrites the document fastify-swagger built from the routes, where an action's path key is
 * `path?action=name`: one path per resource, one operation per method, every action kept in
 * `x-enos-actions`; every operation gets a stable operationId.
 */
export function mergeActionPaths(doc: Json): Json {
  const paths = isObject(doc['paths']) ? doc['paths'] : {};
  const out: Record<string, Json> = {};
  const grouped = new Map<string, Map<string, ActionOperation[]>>();
  for (const [key, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    const m = /^([^?]+)\?action=(.+)$/.exec(key);
    if (!m) {
      const pathItem: Json = { ...item };
      for (const method of methods) {
        const op = pathItem[method];
        if (isObject(op)) pathItem[method] = { operationId: pathOperationId(method, key), ...op };
      }
      out[key] = pathItem;
      continue;
    }
    const [, path, action] = m as unknown as [string, string, string];
    const byMethod = grouped.get(path) ?? new Map<string, ActionOperation[]>();
    grouped.set(path, byMethod);
    for (const method of methods) {
      const op = item[method];
      if (!isObject(op)) continue;
      const list = byMethod.get(method) ?? [];
      list.push({ ...op, action, operationId: actionOperationId(path, action) });
      byMethod.set(method, list);
    }
  }
  for (const [path, byMethod] of grouped) {
    const pathItem: Json = { ...(out[path] ?? {}) };
    for (const [method, actions] of byMethod) pathItem[method] = mergeActions(path, method, actions);
    out[path] = pathItem;
  }
  return { ...doc, paths: out };
}
