import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { CertificateStatus, ListFilter } from '../api.js';
import { CertificateError } from '../errors.js';
import { openCertificateService, type CertificateService, type CertificateServiceOptions } from '../service.js';
import type { CrlName } from '../crl.js';
import type { DeviceBinding, IssueAuthority } from '../store/port.js';
import { publicCaRoutes } from './public-routes.js';
import { checkSecrets, DEFAULT_CLOCK_SKEW_MS, RequestVerifier, responseSignature, signatureHeaders } from './signing.js';

export interface CertificateServerOptions extends Partial<CertificateServiceOptions> {
  /** Default 8081 (the port of the EnOS CRL URL, §6); 0 picks a free one. */
  port?: number;
  /** Default 127.0.0.1: expose it deliberately. */
  host?: string;
  /** An already open service to serve; otherwise one is opened from these options (`dataDir` required). */
  service?: CertificateService;
  /** Shared secret(s) for the hub API (several during a rotation); at least 32 characters each. */
  sharedSecret: string | string[];
  /** Accepted |now - x-edgehub-timestamp|; default 60 s. */
  clockSkewMs?: number;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  /** fastify's logger option (pino). Signature headers are redacted; bodies are never logged. */
  httpLogger?: FastifyServerOptions['logger'];
}

export interface RunningCertificateServer {
  /** e.g. http://127.0.0.1:8081 */
  url: string;
  port: number;
  service: CertificateService;
  app: FastifyInstance;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    // Prefixed: the hub augments FastifyRequest too (its own rawBody), and declarations merge.
    /** The body as received: the request signature covers it byte for byte. */
    certServiceRawBody?: Buffer;
    /** Set once the request signature verified: the response is signed with the same secret. */
    certServiceAuth?: { secret: string; nonce: string };
  }
}

const BODY_LIMIT = 64 * 1024;

/**
 * The standalone certificate service. Public (what devices and relying parties fetch; the hub
 * mounts the same routes, http/public-routes.ts):
 *   GET /crl/{RSA|ECC|root}.crl, /enos/CA/crl/{RSA|ECC|root}   DER CRL; root only when its key is here
 *   GET /ca/root.pem, /ca/{RSA|ECC}.pem, /ca/chain/{RSA|ECC}.pem, /enos/CA/cacert[/{RSA|ECC}]
 *   GET /healthz
 * Hub API, every call signed (signing.ts), JSON in and out, errors as `{code, message}`:
 *   POST /v1/certificates/issue | renew | revoke   POST /v1/server-certificates/issue (the hub's TLS listener)
 *   GET  /v1/certificates?orgId=&productKey=&deviceKey=&assetId=&status=&issueAuthority=&expiresBefore=
 *   GET  /v1/certificates/{certSN}   GET /v1/revoked   GET /v1/ca
 *   GET  /v1/revocations?after=<position>&epoch=<epoch>&wait=<seconds>   the revocation feed (long poll)
 */
export async function startCertificateServer(options: CertificateServerOptions): Promise<RunningCertificateServer> {
  const secrets = checkSecrets(options.sharedSecret);
  let url = '';
  let service = options.service;
  const ownsService = service === undefined;
  if (!service) {
    if (!options.dataDir) throw new Error('startCertificateServer needs a service or a dataDir');
    service = await openCertificateService({ ...options, dataDir: options.dataDir, publicBaseUrl: options.publicBaseUrl ?? (() => url) });
  }
  const app = buildCertificateApp(service, {
    secrets,
    clockSkewMs: options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS,
    ...(options.tls ? { tls: options.tls } : {}),
    logger: options.httpLogger ?? false,
  });
  try {
    await app.listen({ port: options.port ?? 8081, host: options.host ?? '127.0.0.1' });
  } catch (err) {
    await app.close();
    if (ownsService) await service.close();
    throw err;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  url = `${options.tls ? 'https' : 'http'}://${host}:${address.port}`;
  const running = service;
  return {
    url,
    port: address.port,
    service: running,
    app,
    async close() {
      await app.close();
      if (ownsService) await running.close();
    },
  };
}

export function buildCertificateApp(
  service: CertificateService,
  o: { secrets: string[]; clockSkewMs: number; tls?: { key: string; cert: string }; logger: FastifyServerOptions['logger'] },
): FastifyInstance {
  // Belt and braces: fastify's default serializers log no headers, but a custom one might.
  const redact = [`req.headers["${signatureHeaders.signature}"]`, `res.headers["${signatureHeaders.response}"]`];
  const logger =
    o.logger === true
      ? { redact }
      : o.logger && typeof o.logger === 'object' && !('child' in o.logger)
        ? { ...o.logger, redact }
        : o.logger;
  const app = (o.tls
    ? Fastify({ https: o.tls, logger, bodyLimit: BODY_LIMIT })
    : Fastify({ logger, bodyLimit: BODY_LIMIT })) as unknown as FastifyInstance;

  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const raw = body as Buffer;
    req.certServiceRawBody = raw;
    if (raw.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(raw.toString('utf8')));
    } catch {
      done(new CertificateError('request.invalid', 'the body is not valid JSON'), undefined);
    }
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof CertificateError) return reply.code(err.httpStatus).send({ code: err.code, message: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return reply.code(status).send({ code: 'request.invalid', message: (err as Error).message });
    }
    req.log.error({ err }, 'certificate service: unexpected error');
    return reply.code(500).send({ code: 'internal', message: 'internal error' });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ code: 'not_found', message: 'no such endpoint' }));

  // ---- public ----
  app.get('/healthz', async () => ({ ok: true }));
  void app.register(publicCaRoutes, {
    caCertificates: () => service.caCertificates(),
    crl: (name: CrlName) => service.crl(name),
    notFound: (message: string) => new CertificateError('cert.not_found', message),
  });

  // ---- hub API: never open ----
  void app.register(
    async (hub) => {
      const verifier = new RequestVerifier(o.secrets, o.clockSkewMs);
      hub.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
        const result = verifier.verify({ method: req.method, path: req.url, headers: req.headers, body: req.certServiceRawBody ?? '' });
        if (!result.ok) {
          req.log.warn(
            `certificate service: refused an unauthenticated hub call to ${req.method} ${req.routeOptions.url ?? ''} (${result.reason}) from ${req.ip}`,
          );
          return reply.code(401).send({ code: 'auth.unauthorized', message: 'request signature missing or invalid' });
        }
        req.certServiceAuth = { secret: result.secret, nonce: result.nonce };
      });
      hub.addHook('onSend', async (req, reply, payload) => {
        if (!req.certServiceAuth) return payload;
        const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : '';
        reply.header(
          signatureHeaders.response,
          responseSignature(req.certServiceAuth.secret, { nonce: req.certServiceAuth.nonce, status: reply.statusCode, body }),
        );
        return payload;
      });

      hub.post('/certificates/issue', async (req) => service.issue(req.body as never));
      hub.post('/certificates/renew', async (req) => service.renew(req.body as never));
      hub.post('/certificates/revoke', async (req) => service.revoke(req.body as never));
      hub.post('/server-certificates/issue', async (req) => service.issueServerCertificate(req.body as never));
      hub.get<{ Querystring: Record<string, string | undefined> }>('/certificates', async (req) => service.list(listFilter(req.query)));
      hub.get<{ Params: { certSN: string }; Querystring: Record<string, string | undefined> }>('/certificates/:certSN', async (req) => {
        const scope = bindingQuery(req.query);
        const found = await service.get({ certSN: req.params.certSN, ...(scope ? { scope } : {}) });
        if (!found) throw new CertificateError('cert.not_found', `no certificate ${req.params.certSN}`);
        return found;
      });
      hub.get('/revoked', async () => ({ serials: await service.revokedSerials() }));
      // The revocation feed, long-polled by every hub (docs/SECURITY.md "Certificates"). A waiting
      // request ends when its client goes away or the server closes.
      const waiting = new Set<AbortController>();
      hub.addHook('preClose', async () => {
        for (const w of waiting) w.abort();
      });
      hub.get<{ Querystring: Record<string, string | undefined> }>('/revocations', async (req, reply) => {
        const q = req.query;
        const after = q['after'] === undefined ? 0 : Number(q['after']);
        const waitSeconds = q['wait'] === undefined ? 0 : Number(q['wait']);
        const gone = new AbortController();
        waiting.add(gone);
        reply.raw.once('close', () => gone.abort());
        try {
          return await service.revocations({ after, waitSeconds, ...(q['epoch'] ? { epoch: q['epoch'] } : {}) }, gone.signal);
        } finally {
          waiting.delete(gone);
        }
      });
      hub.get('/ca', async () => service.caCertificates());
    },
    { prefix: '/v1' },
  );
  return app;
}

function bindingQuery(q: Record<string, string | undefined>): Partial<DeviceBinding> | undefined {
  const binding = Object.fromEntries(
    (['orgId', 'productKey', 'deviceKey', 'assetId'] as const).filter((k) => typeof q[k] === 'string').map((k) => [k, q[k]!]),
  );
  return Object.keys(binding).length > 0 ? binding : undefined;
}

function listFilter(q: Record<string, string | undefined>): ListFilter {
  const filter: ListFilter = {};
  const binding = bindingQuery(q);
  if (binding) filter.binding = binding;
  if (q['status'] !== undefined) {
    if (!['0', '1', '2', '3'].includes(q['status'])) throw new CertificateError('request.invalid', 'status must be 0, 1, 2 or 3');
    filter.status = Number(q['status']) as CertificateStatus;
  }
  if (q['issueAuthority'] !== undefined) filter.issueAuthority = q['issueAuthority'] as IssueAuthority;
  if (q['expiresBefore'] !== undefined) {
    const d = new Date(q['expiresBefore']);
    if (Number.isNaN(d.getTime())) throw new CertificateError('request.invalid', 'expiresBefore must be an ISO date');
    filter.expiresBefore = d;
  }
  return filter;
}
