import { safeEqual } from '@edgehub/shared';

/**
 * Every config center request carries `Authorization: Bearer <token>` (docs/ARCHITECTURE.md, "Edge
 * config center"): the token is `configCenter.token`/`tokenFile` from the edge config, or the
 * gateway's own device secret when neither is set. Compared in constant time; never logged.
 */
export function bearerTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = `Bearer ${token}`;
  return (given) => typeof given === 'string' && safeEqual(given, expected);
}
