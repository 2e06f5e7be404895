import { EnosError, codes } from '@edgehub/shared';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpStatusFor } from './envelope.js';

/** Maps any failure to a protocol code with a message safe for the wire. */
export function toEnosError(err: unknown, req: FastifyRequest): EnosError {
  if (err instanceof EnosError) return err;
  const e = err as Partial<FastifyError> & { statusCode?: number };
  if (e.validation) {
    const first = e.validation[0];
    const where = first ? `${e.validationContext ?? 'request'}${first.instancePath ?? ''}`.replace(/\//g, '.') : 'request';
    return new EnosError(codes.invalidArgument, `Invalid Argument ${where}: ${first?.message ?? 'is invalid'}`);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new EnosError(codes.bodyTooLarge, 'Request body too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new EnosError(codes.invalidArgument, 'Invalid Argument: Content-Type must be application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new EnosError(codes.invalidArgument, 'Invalid Argument: malformed request body');
  }
  if (e.statusCode === 429) return new EnosError(codes.rateLimited, 'Too many requests');
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new EnosError(codes.invalidArgument, `Invalid Argument: ${e.message ?? 'bad request'}`);
  }
  req.log.error({ err }, 'unexpected error');
  return new EnosError(codes.internal, 'Internal error');
}

/** The Connection Service error shape: the EnOS envelope with `data: null`. */
export function installEnvelopeErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const e = toEnosError(err, req);
    return reply.status(httpStatusFor(e.code)).send({ code: e.code, msg: e.message, requestId: req.id, data: null });
  });
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '';
    const hasAction = /[?&]action=/.test(req.url);
    const e = hasAction
      ? new EnosError(codes.invalidArgument, 'Invalid Argument action: unknown action for this resource')
      : path.startsWith('/connect-service/')
        ? new EnosError(codes.invalidArgument, 'Invalid Argument action: action is missing')
        : new EnosError(codes.notFound, `No such endpoint: ${req.method} ${path}`);
    return reply.status(httpStatusFor(e.code)).send({ code: e.code, msg: e.message, requestId: req.id, data: null });
  });
}
