import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { mergeActionPaths } from './openapi-actions.js';
import { lazyValidators } from './lazy-validators.js';
import { requestLoggerFactory } from './request-logger.js';
import { recordDocsRoutes } from './lazy-docs.js';
import { EnosError, codes, safeEqual } from '@edgehub/shared';
import type { HubMetrics } from '../metrics.js';
import type { TokenService } from '../auth/tokens.js';
import type { Registry } from '../registry/registry.js';
import { actionConstraint } from './action-constraint.js';
import { adminRoutes } from './admin.routes.js';
import { commandRoutes } from './commands.routes.js';
import { streamRoutes } from './stream.routes.js';
import { measurepointRoutes } from './measurepoints.routes.js';
import { connectionStateRoutes } from './connection-states.routes.js';
import { eventRoutes } from './events.routes.js';
import { certificatePublicRoutes, certificateRoutes } from './certificates.routes.js';
import type { CertificateOperations, CertificateService } from '@edgehub/certificate-service';
import type { TelemetryStore } from '../telemetry/store/port.js';
import type { StreamHub } from '../stream/stream-hub.js';
import type { CommandCore } from '../commands/command-core.js';
import type { DeviceTypes } from '../device-types/plugins.js';
import type { DeviceTypeContext } from '../device-types/plugin.js';
import { deviceMgtApi, type DeviceMgtApiOptions } from './device-mgt/index.js';
import { appDownloadRoutes } from './app-mgt/downloads.routes.js';
import type { AppPublisher } from '../device-management/apps/publisher.js';
import { requireSignedCalls } from './auth.js';
import { deviceRoutes } from './devices.routes.js';
import { installEnvelopeErrors } from './errors.js';
import { productRoutes } from './products.routes.js';
import { tokenRoutes } from './token.routes.js';
import { topoRoutes } from './topos.routes.js';
import { codecRoutes } from './codecs.routes.js';
import type { ProductCodecs } from '../codecs/product-codecs.js';
import { deviceLogRoutes } from './device-logs.routes.js';
import type { DeviceLogs } from '../device-logs/device-logs.js';
import { otaDownloadRoutes, otaRoutes } from './ota.routes.js';
import type { Firmwares } from '../ota/firmwares.js';
import type { OtaCampaigns } from '../ota/campaigns.js';
import type { DownloadUrls } from '../ota/download-urls.js';
import { alertRoutes } from './alerts.routes.js';
import { consoleRoutes } from './console.js';
import type { AlertRules } from '../alerts/alert-rules.js';
import type { AlertEngine } from '../alerts/alert-engine.js';

export interface ApiOptions {
  /** What /health says: `ok`, `degraded` (Redis unreachable: cross-node features wait) or `draining`. */
  health?: () => 'ok' | 'degraded' | 'draining';
  telemetry: TelemetryStore;
  metrics: HubMetrics;
  metricsToken?: string | undefined;
  registry: Registry;
  commands: CommandCore;
  /** Device types that are on: their device-facing routes are mounted here. */
  deviceTypes?: DeviceTypes;
  deviceTypeContext?: DeviceTypeContext;
  /** The device-management REST (POST /token, /api/device-mgt/v1.0); absent = not served. */
  deviceMgt?: DeviceMgtApiOptions;
  stream: StreamHub;
  tokens: TokenService;
  logger: FastifyBaseLogger;
  /** Largest accepted body in bytes (batchCreate has its own, larger limit). */
  bodyLimit: number;
  tokenRateLimitPerMinute: number;
  version: string;
  /** False on a worker node: only /health and /metrics, no management REST. */
  management?: boolean;
  certificates?: CertificateOperations;
  certificateService?: CertificateService;
  publicBaseUrl?: string | (() => string);
  /** Raw-payload codecs of Custom products (docs/PROTOCOL.md §7.1). */
  codecs?: ProductCodecs;
  /** Device logs and network status reports (docs/PROTOCOL.md). */
  deviceLogs?: DeviceLogs;
  /** OTA firmware, jobs and the signed download URLs (docs/PROTOCOL.md). */
  ota?: { firmwares: Firmwares; campaigns: OtaCampaigns; urls: DownloadUrls };
  /** Enterprise-app downloads devices fetch with signed URLs (docs/DEVICE-MANAGEMENT.md, "Applications: artifacts"). */
  appDownloads?: { publisher: AppPublisher; publicBaseUrl: () => string };
  /** Alert rules and alerts (docs/PROTOCOL.md). */
  alerts?: { rules: AlertRules; engine: AlertEngine };
}

/** Builds the management REST API: token service, Connection Service, admin API, OpenAPI at /docs. */
export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const validators = lazyValidators();
  const app = Fastify({
    loggerInstance: opts.logger,
    // Per-request logs cost throughput; failures are logged by the error handler instead.
    logController: new LogController({ disableRequestLogging: true }),
    // req.log builds its child logger (with the request id) on its first use, not per request.
    childLoggerFactory: requestLoggerFactory,
    bodyLimit: opts.bodyLimit,
    genReqId: () => randomUUID(),
    // On shutdown, close every connection (event streams included) instead of waiting for clients.
    forceCloseConnections: true,
    routerOptions: { constraints: { action: actionConstraint } },
    // Each route's validator is compiled on its first request, not at start-up (hub/src/api/lazy-validators.ts).
    schemaController: { compilersFactory: { buildValidator: validators.buildValidator } },
    ajv: {
      // Bodies are checked as sent: unknown fields and mistyped values are refused, never dropped or coerced.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false, allowUnionTypes: true },
    },
  });

  app.decorate('compileRouteValidators', validators.compilePending);

  // Keep the raw body: the apim signature covers it exactly as sent (§7.2).
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const raw = body as string;
    req.rawBody = raw;
    if (raw.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(raw));
    } catch {
      done(new EnosError(codes.invalidArgument, 'Invalid Argument: request body is not valid JSON'), undefined);
    }
  });

  installEnvelopeErrors(app);
  await app.register(rateLimit, { global: false });
  // The OpenAPI document and Swagger UI are built on the first /docs request (hub/src/api/lazy-docs.ts).
  recordDocsRoutes(app, {
    routePrefix: '/docs',
    swagger: {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'edgehub management API',
          version: opts.version,
          description:
            'EnOS-compatible Connection Service, apim token service and admin API. Every call except the token service is signed: apim-accesstoken, apim-timestamp, apim-signature (see docs/PROTOCOL.md).',
        },
        components: {
          securitySchemes: {
            apimAccessToken: { type: 'apiKey', in: 'header', name: 'apim-accesstoken' },
            apimTimestamp: { type: 'apiKey', in: 'header', name: 'apim-timestamp' },
            apimSignature: { type: 'apiKey', in: 'header', name: 'apim-signature' },
          },
        },
      },
      // Each action is its own route, keyed `path?action=name` here; mergeActionPaths then makes one
      // operation per resource and method of them, as OpenAPI requires (api/openapi-actions.ts).
      transform: ({ schema, url, route }) => {
        const action = (route.constraints as { action?: string } | undefined)?.action;
        return { schema, url: action ? `${url}?action=${action}` : url };
      },
      transformObject: (documentObject) =>
        'openapiObject' in documentObject ? mergeActionPaths(documentObject.openapiObject) : documentObject.swaggerObject,
    },
  });

  // 503 while the node drains (SIGTERM): load balancers stop sending it new clients.
  app.get('/health', { schema: { hide: true } }, async (_req, reply) => {
    const status = opts.health?.() ?? 'ok';
    return reply.status(status === 'draining' ? 503 : 200).send({ status });
  });
  // Prometheus scrape endpoint: no secrets in it; optionally behind a bearer token.
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (opts.metricsToken && !safeEqual(req.headers.authorization ?? '', `Bearer ${opts.metricsToken}`)) {
      return reply.status(401).send({ code: codes.unauthenticated, msg: 'metrics need a bearer token', requestId: req.id, data: null });
    }
    return reply.header('content-type', opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
  app.addHook('onResponse', (_req, reply, done) => {
    opts.metrics.httpResponse(reply.statusCode);
    done();
  });

  // CA certificates and CRLs are public downloads, served by every node (workers too).
  if (opts.certificates)
    await app.register(certificatePublicRoutes, {
      certs: opts.certificates,
      ...(opts.certificateService ? { service: opts.certificateService } : {}),
    });
  // Devices download firmware from any node (workers too), with a signed URL instead of a token.
  if (opts.ota) await app.register(otaDownloadRoutes, { firmwares: opts.ota.firmwares, urls: opts.ota.urls });
  if (opts.appDownloads) await app.register(appDownloadRoutes, opts.appDownloads);
  // Device-facing routes of the device types (check-in, command endpoints): every node serves them.
  if (opts.deviceTypes && opts.deviceTypeContext) {
    for (const type of opts.deviceTypes.list()) {
      const ctx = opts.deviceTypeContext;
      if (type.routes) await app.register(async (scope) => type.routes!(scope, ctx));
    }
  }
  if (opts.management === false) return app;
  // The web console is served by the manager node, beside the API it calls (docs/CONSOLE.md).
  await app.register(consoleRoutes, {});
  if (opts.deviceMgt) await deviceMgtApi(app, opts.deviceMgt);
  await app.register(tokenRoutes, { tokens: opts.tokens, rateLimitPerMinute: opts.tokenRateLimitPerMinute });
  await app.register(async (scope) => {
    requireSignedCalls(scope, opts.tokens, opts.registry);
    await scope.register(productRoutes, { registry: opts.registry });
    await scope.register(deviceRoutes, { registry: opts.registry });
    await scope.register(topoRoutes, { registry: opts.registry });
    await scope.register(commandRoutes, { registry: opts.registry, commands: opts.commands });
    await scope.register(streamRoutes, { stream: opts.stream });
    await scope.register(measurepointRoutes, { registry: opts.registry, telemetry: opts.telemetry });
    await scope.register(connectionStateRoutes, { registry: opts.registry, telemetry: opts.telemetry });
    await scope.register(eventRoutes, { registry: opts.registry, telemetry: opts.telemetry });
    if (opts.certificates)
      await scope.register(certificateRoutes, {
        registry: opts.registry,
        certs: opts.certificates,
        publicBaseUrl: opts.publicBaseUrl ?? '',
      });
    if (opts.codecs) await scope.register(codecRoutes, { registry: opts.registry, codecs: opts.codecs });
    if (opts.deviceLogs) await scope.register(deviceLogRoutes, { registry: opts.registry, logs: opts.deviceLogs });
    if (opts.ota)
      await scope.register(otaRoutes, { registry: opts.registry, firmwares: opts.ota.firmwares, campaigns: opts.ota.campaigns });
    if (opts.alerts) await scope.register(alertRoutes, { registry: opts.registry, rules: opts.alerts.rules, engine: opts.alerts.engine });
    await scope.register(adminRoutes, { registry: opts.registry });
  });
  return app;
}
