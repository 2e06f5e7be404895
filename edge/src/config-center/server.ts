import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BindError, type Edge } from '../edge.js';
import { bearerTokenCheck } from './auth.js';

/** Largest request body (a bind is one device's config). */
const BODY_LIMIT = 64 * 1024;

/** An answer with a status: thrown by a route or the body reader, sent as `{ error }`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ConfigCenter {
  app: { server: Server; close(): Promise<void> };
  url: string;
}

type Route = (req: IncomingMessage, url: URL, params: string[]) => Promise<{ status: number; body?: unknown }>;

/**
 * The edge's local config center: list, bind and unbind sub-devices, see uplink and southbound
 * status and the readings the hub refused. Bound to 127.0.0.1 by default (it is for the installer
 * on site, not for the network) and every request needs the Bearer token (docs/ARCHITECTURE.md,
 * "Edge config center").
 *
 * Five JSON routes on node:http rather than a web framework: the framework, its schema compiler
 * and their dependencies were a fifth of the edge's resident memory and most of its start-up
 * (docs/BENCHMARKS.md, Edge runtime).
 */
export async function startConfigCenter(edge: Edge, opts: { host: string; port: number; token?: string }): Promise<ConfigCenter> {
  const authorized = bearerTokenCheck(opts.token ?? edge.config.configCenter.token);
  const routes: { method: string; path: RegExp; run: Route }[] = [
    { method: 'GET', path: /^\/status$/, run: async () => ({ status: 200, body: edge.status() }) },
    { method: 'GET', path: /^\/subdevices$/, run: async () => ({ status: 200, body: edge.status().subDevices }) },
    {
      // The newest readings the hub refused or skipped (`?limit=`, default 100, at most 1000).
      method: 'GET',
      path: /^\/refused$/,
      run: async (_req, url) => {
        const limit = Math.min(1000, Math.max(1, Number.parseInt(url.searchParams.get('limit') ?? '100', 10) || 100));
        return { status: 200, body: { count: edge.refused.count, file: edge.refused.file, newest: await edge.refused.newest(limit) } };
      },
    },
    {
      // The body is checked by the edge itself, against the config file's schema, with errors naming the key.
      method: 'POST',
      path: /^\/subdevices$/,
      run: async (req) => {
        const creds = await edge.bind(await readJson(req));
        return { status: 201, body: { deviceKey: creds.deviceKey, assetId: creds.assetId } };
      },
    },
    {
      method: 'DELETE',
      path: /^\/subdevices\/([^/]+)$/,
      run: async (_req, _url, [encoded]) => {
        const deviceKey = decodeParam(encoded ?? '');
        if (!(await edge.unbind(deviceKey))) return { status: 404, body: { error: `${deviceKey} is not bound` } };
        return { status: 204 };
      },
    },
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorized(req.headers.authorization)) {
      res.setHeader('www-authenticate', 'Bearer realm="edge config center"');
      return send(res, 401, {
        error:
          'the config center needs Authorization: Bearer <token> (configCenter.token or tokenFile in the edge config; by default the gateway device secret)',
      });
    }
    const url = new URL(req.url ?? '/', 'http://config-center');
    const matching = routes.filter((r) => r.path.test(url.pathname));
    const route = matching.find((r) => r.method === req.method);
    if (!route) {
      req.resume();
      return send(res, matching.length > 0 ? 405 : 404, { error: `no route ${req.method ?? ''} ${url.pathname}` });
    }
    try {
      const { status, body } = await route.run(req, url, route.path.exec(url.pathname)!.slice(1));
      send(res, status, body);
    } catch (err) {
      const status = err instanceof BindError || err instanceof HttpError ? err.status : 500;
      send(res, status, { error: (err as Error).message });
    }
  };

  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { app: { server, close }, url: `http://${host}:${addr.port}` };
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) }).end(json);
}

function decodeParam(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `malformed path parameter ${s}`);
  }
}

/**
 * The request's JSON body (undefined when empty). Past BODY_LIMIT bytes the rest is read and
 * dropped, so that the 413 reaches the client over an intact connection.
 */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'];
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) chunks.push(chunk);
    });
    req.once('end', resolve);
    req.once('error', reject);
  });
  if (size > BODY_LIMIT) throw new HttpError(413, `request body over ${BODY_LIMIT} bytes`);
  if (size === 0) return undefined;
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) throw new HttpError(415, `unsupported content type ${type}`);
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return body;
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}
