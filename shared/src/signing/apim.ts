import { hash } from 'node:crypto';

/**
 * EnOS "apim" application authentication (docs/ENOS-PROTOCOL.md §7.2).
 * The token request proves knowledge of the secret with
 *   encryption = lowercase hex(sha256(appKey + timestamp + appSecret))
 * and every API call is signed with
 *   apim-signature = lowercase hex(sha256(accessToken + paramsData + timestamp + appSecret))
 * where paramsData = URL query params sorted by key (k1v1k2v2…) followed by the raw body as sent.
 */
export function tokenEncryption(appKey: string, timestamp: string | number, appSecret: string): string {
  return sha256Hex(`${appKey}${timestamp}${appSecret}`);
}

/** Query params as they reach a server: a key may repeat; all its values count, in order. */
export type QueryParams = Iterable<readonly [string, string]>;

export function paramsData(query: QueryParams, rawBody?: string): string {
  const pairs: (readonly [string, string])[] = [];
  for (const pair of query) pairs.push(pair);
  // Plain code-unit order, as Java's String.compareTo sorts the keys; stable for repeated keys.
  // Built with one pass and no intermediate arrays: the hub runs this for every signed request.
  if (pairs.length > 1) pairs.sort(byKey);
  let data = '';
  for (const [k, v] of pairs) data += k + v;
  return rawBody === undefined ? data : data + rawBody;
}

const byKey = (a: readonly [string, string], b: readonly [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export function requestSignature(
  accessToken: string,
  query: QueryParams,
  rawBody: string | undefined,
  timestamp: string | number,
  appSecret: string,
): string {
  return sha256Hex(`${accessToken}${paramsData(query, rawBody)}${timestamp}${appSecret}`);
}

/** The three headers a client adds to every signed call. */
export function signedHeaders(
  accessToken: string,
  url: URL,
  rawBody: string | undefined,
  appSecret: string,
  now: number = Date.now(),
): Record<string, string> {
  const ts = String(now);
  return {
    'apim-accesstoken': accessToken,
    'apim-timestamp': ts,
    'apim-signature': requestSignature(accessToken, url.searchParams, rawBody, ts, appSecret),
  };
}

// One-shot hashing (Node ≥ 20.12): no Hash object per signed request, on the client and the hub alike.
function sha256Hex(s: string): string {
  return hash('sha256', s, 'hex');
}
