import { codes } from '@edgehub/shared';

/**
 * The EnOS response envelope (docs/ENOS-PROTOCOL.md §7.1): `{code, msg, requestId, data, pagination?}`.
 * EnOS clients read `code`; the HTTP status follows it so that proxies, load balancers and plain
 * HTTP clients can tell a failure apart without parsing the body.
 */
export interface Envelope<T = unknown> {
  code: number;
  msg: string;
  requestId: string;
  data: T;
  pagination?: Pagination;
  successSize?: number;
  totalSize?: number;
}

export interface Pagination {
  pageNo: number;
  pageSize: number;
  totalSize: number;
  sortedBy: { field: string; order: 'ASC' | 'DESC' }[] | null;
}

export function httpStatusFor(code: number): number {
  switch (code) {
    case codes.ok:
      return 200;
    case codes.unauthenticated:
    case codes.tokenExpired:
    case codes.tokenAppKeyNotExist:
    case codes.tokenInvalidEncryption:
    case codes.tokenReplayedEncryption:
    case codes.tokenRefreshFailed:
      return 401;
    case codes.denied:
      return 403;
    case codes.notFound:
    case codes.deviceNotFound:
    case codes.productNotFound:
      return 404;
    case codes.deviceKeyExists:
    case codes.subDeviceBoundElsewhere:
    case codes.productHasDevices:
    case codes.certificateBoundElsewhere:
      return 409;
    case codes.bodyTooLarge:
      return 413;
    case codes.rateLimited:
      return 429;
    case codes.internal:
    case codes.tokenInternal:
      return 500;
    default:
      return 400;
  }
}

/** Response schema of the envelope, for the OpenAPI document and the serializer. */
export function envelopeSchema(data: object = {}, extra: Record<string, object> = {}) {
  return {
    type: 'object',
    properties: {
      code: { type: 'integer' },
      msg: { type: 'string' },
      requestId: { type: 'string' },
      data,
      ...extra,
    },
  };
}

export const paginationResponseSchema = {
  type: 'object',
  properties: {
    pageNo: { type: 'integer' },
    pageSize: { type: 'integer' },
    totalSize: { type: 'integer' },
    sortedBy: { type: ['array', 'null'], items: { type: 'object', properties: { field: { type: 'string' }, order: { type: 'string' } } } },
  },
};

export function ok<T>(requestId: string, data: T): Envelope<T> {
  return { code: codes.ok, msg: 'OK', requestId, data };
}
