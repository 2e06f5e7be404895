import type { IncomingMessage } from 'node:http';

const parsed = Symbol('edgehub.queryParams');

interface QueryCarrier extends IncomingMessage {
  [parsed]?: URLSearchParams;
}

/**
 * The query parameters of a request exactly as sent (repeated keys kept, in order), parsed once: the
 * `action` route constraint (action-constraint.ts) and the apim signature check (auth.ts) both read
 * them, and a second parse was a measurable part of a signed GET (docs/BENCHMARKS.md, "REST: where
 * the time goes").
 */
export function queryParamsOf(raw: IncomingMessage): URLSearchParams {
  const carrier = raw as QueryCarrier;
  let params = carrier[parsed];
  if (params === undefined) {
    const url = raw.url ?? '';
    const q = url.indexOf('?');
    params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    carrier[parsed] = params;
  }
  return params;
}
