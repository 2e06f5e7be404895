import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MdmProtocolError, mdmErrors } from './errors.js';
import type { DeviceIdentity, IdentityVerifier } from './identity.js';
import type { MdmService } from './mdm-service.js';
import { defaultMaxPlistBytes, parsePlistDict } from './plist-codec.js';

export const checkinContentType = 'application/x-apple-aspen-mdm-checkin';

export interface MdmRoutesOptions {
  service: MdmService;
  identity: IdentityVerifier;
  maxBodyBytes?: number;
}

/**
 * The DER of a TLS connection's client certificate, read once per connection: the listener
 * refuses renegotiation (mdm-tls-listener.ts), so it cannot change while the connection lives.
 */
const peerCertificates = new WeakMap<object, Buffer | null>();
function clientCertificate(socket: Partial<TLSSocket>): Buffer | undefined {
  if (typeof socket.getPeerX509Certificate !== 'function') return undefined;
  let der = peerCertificates.get(socket);
  if (der === undefined) {
    // getPeerX509Certificate, not getPeerCertificate: the latter converts every field to JS and
    // computes three fingerprints, a tenth of the hub's CPU per command with a connection per
    // check-in session (docs/BENCHMARKS.md, "Apple MDM: where the time goes").
    der = socket.getPeerX509Certificate()?.raw ?? null;
    peerCertificates.set(socket, der);
  }
  return der ?? undefined;
}

/**
 * The device-facing Apple endpoints (docs/DEVICE-MANAGEMENT.md, "Apple: endpoints"):
 *   PUT /mdm          check-ins (by Content-Type) and command results, the profile's ServerURL
 *   PUT /mdm/checkin  check-ins only, for a profile with a separate CheckInURL; the profiles the hub
 *                     hands out carry `?enrollment=<token>` there (the organization to enroll into)
 * Bodies are raw plists; this scope has its own body parser and its own error answers (an HTTP
 * status and a short reason in text), independent of the EnOS envelope of the REST API.
 */
export async function mdmRoutes(app: FastifyInstance, opts: MdmRoutesOptions): Promise<void> {
  const maxBytes = opts.maxBodyBytes ?? defaultMaxPlistBytes;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof MdmProtocolError) {
      req.log.info({ reason: err.reason, status: err.httpStatus }, 'mdm request refused');
      return reply.status(err.httpStatus).type('text/plain').send(err.reason);
    }
    const e = err as { code?: string; statusCode?: number };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).type('text/plain').send('TooLarge');
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500)
      return reply.status(e.statusCode).type('text/plain').send('BadRequest');
    req.log.error({ err }, 'mdm request failed');
    return reply.status(500).type('text/plain').send('InternalError');
  });

  const bodyOf = (req: FastifyRequest): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

  async function identify(req: FastifyRequest, body: Buffer): Promise<DeviceIdentity> {
    const signature = req.headers['mdm-signature'];
    if (typeof signature === 'string' && signature !== '') return opts.identity.fromMdmSignature(signature, body);
    const der = clientCertificate(req.raw.socket as Partial<TLSSocket>);
    if (der) return opts.identity.fromClientCertificate(der);
    throw mdmErrors.identityMissing();
  }

  async function checkin(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const body = bodyOf(req);
    const msg = parsePlistDict(body, maxBytes);
    const identity = await identify(req, body);
    const token = (req.query as Record<string, unknown> | undefined)?.['enrollment'];
    await opts.service.checkin(msg, identity, typeof token === 'string' ? { enrollmentToken: token } : {});
    await reply.status(200).send();
  }

  async function command(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const body = bodyOf(req);
    const msg = parsePlistDict(body, maxBytes);
    const identity = await identify(req, body);
    const next = await opts.service.command(msg, identity);
    if (next === undefined) await reply.status(200).send();
    else await reply.status(200).type('application/xml; charset=UTF-8').send(next);
  }

  app.put('/mdm/checkin', checkin);
  app.put('/mdm', async (req, reply) => {
    const type = req.headers['content-type'] ?? '';
    return type.startsWith(checkinContentType) ? checkin(req, reply) : command(req, reply);
  });
}
