import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EnrollmentService } from './enrollment-service.js';
import { WindowsProtocolError, windowsErrors } from './errors.js';
import type { ManagementService } from './management-service.js';
import { actions, defaultMaxSoapBytes, discoverResponse, enrollmentResponse, parseSoap, soapContentType, soapFault } from './soap.js';
import { defaultMaxSyncMlBytes, parseDeviceMessage, syncMlContentType } from './syncml.js';

export const windowsPaths = {
  discovery: '/EnrollmentServer/Discovery.svc',
  enrollment: '/EnrollmentServer/Enrollment.svc',
  management: '/ManagementServer/MDM.svc',
};

export interface WindowsRoutesOptions {
  enrollment: EnrollmentService;
  management: ManagementService;
  publicBaseUrl: () => string;
  maxSoapBytes?: number;
  maxSyncMlBytes?: number;
}

const bodyOf = (req: FastifyRequest): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

/** Fastify's own 4xx (body too large, bad content length) as our error. */
function asProtocolError(err: unknown, limit: number): WindowsProtocolError | undefined {
  if (err instanceof WindowsProtocolError) return err;
  const e = err as { code?: string; statusCode?: number };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return windowsErrors.tooLarge(limit);
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) return windowsErrors.malformedSoap('bad request');
  return undefined;
}

/**
 * The device-facing Windows endpoints (docs/DEVICE-MANAGEMENT.md, "Windows: endpoints"), at the
 * paths Windows uses: discovery (GET and SOAP POST), enrollment (SOAP RequestSecurityToken) and
 * management (SyncML). Each scope has its own raw body parser with a size bound and its own error
 * answers: SOAP faults for enrollment, status + reason text for management.
 */
export async function windowsRoutes(app: FastifyInstance, opts: WindowsRoutesOptions): Promise<void> {
  const soapLimit = opts.maxSoapBytes ?? defaultMaxSoapBytes;
  const syncLimit = opts.maxSyncMlBytes ?? defaultMaxSyncMlBytes;

  await app.register(async (soap) => {
    soap.removeAllContentTypeParsers();
    soap.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: soapLimit }, (_req, body, done) => done(null, body));
    soap.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
      const e = asProtocolError(err, soapLimit);
      if (!e) {
        req.log.error({ err }, 'windows enrollment request failed');
        return reply
          .status(500)
          .type(soapContentType)
          .send(soapFault(new WindowsProtocolError(400, 'InternalError', 'internal error', 'InternalServiceFault'), undefined));
      }
      req.log.info({ reason: e.reason, status: e.httpStatus }, 'windows enrollment request refused');
      return reply.status(e.httpStatus).type(soapContentType).send(soapFault(e, undefined));
    });
    soap.get(windowsPaths.discovery, async (_req, reply) => reply.status(200).send());
    soap.post(windowsPaths.discovery, async (req, reply) => {
      const env = parseSoap(bodyOf(req), soapLimit);
      if (env.action !== actions.discover || !('Discover' in env.body)) throw windowsErrors.malformedSoap('expected a Discover request');
      const xml = discoverResponse({ enrollmentServiceUrl: `${opts.publicBaseUrl()}${windowsPaths.enrollment}` }, env.messageId);
      return reply.status(200).type(soapContentType).send(xml);
    });
    soap.post(windowsPaths.enrollment, async (req, reply) => {
      const env = parseSoap(bodyOf(req), soapLimit);
      if (env.action !== actions.requestSecurityToken) throw windowsErrors.malformedSoap('expected a RequestSecurityToken');
      const doc = await opts.enrollment.enroll(env);
      return reply.status(200).type(soapContentType).send(enrollmentResponse(doc, env.messageId));
    });
  });

  await app.register(async (dm) => {
    dm.removeAllContentTypeParsers();
    dm.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: syncLimit }, (_req, body, done) => done(null, body));
    dm.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
      const e =
        err instanceof WindowsProtocolError
          ? err
          : (err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? windowsErrors.tooLarge(syncLimit)
            : undefined;
      if (!e) {
        req.log.error({ err }, 'windows management request failed');
        return reply.status(500).type('text/plain').send('InternalError');
      }
      req.log.info({ reason: e.reason, status: e.httpStatus }, 'windows management request refused');
      return reply.status(e.httpStatus).type('text/plain').send(e.reason);
    });
    dm.post(windowsPaths.management, async (req, reply) => {
      const type = req.headers['content-type'] ?? '';
      if (!type.startsWith(syncMlContentType)) throw windowsErrors.unsupportedMediaType();
      const msg = parseDeviceMessage(bodyOf(req), syncLimit);
      const answer = await opts.management.turn(msg);
      return reply.status(200).type(syncMlContentType).send(answer);
    });
  });
}
