import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * The apim signatures of docs/ENOS-PROTOCOL.md §7.2, computed in the browser. A plain-JS digest
 * instead of Web Crypto: crypto.subtle exists only on https or localhost pages, and a hub on a LAN
 * address serves the console over plain http.
 */
export function sha256Hex(s: string): string {
  return bytesToHex(sha256(utf8ToBytes(s)));
}

/** Proves knowledge of the secret to the token service. */
export function tokenEncryption(appKey: string, timestamp: string, appSecret: string): string {
  return sha256Hex(`${appKey}${timestamp}${appSecret}`);
}

/** Query parameters sorted by key in code-unit order (k1v1k2v2…), then the raw body. */
export function paramsData(query: URLSearchParams, rawBody: string | undefined): string {
  const pairs = [...query.entries()];
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.map(([k, v]) => k + v).join('') + (rawBody ?? '');
}

/** The three headers of a signed call. */
export function signedHeaders(
  token: string,
  url: URL,
  rawBody: string | undefined,
  appSecret: string,
  now: number,
): Record<string, string> {
  const ts = String(now);
  return {
    'apim-accesstoken': token,
    'apim-timestamp': ts,
    'apim-signature': sha256Hex(`${token}${paramsData(url.searchParams, rawBody)}${ts}${appSecret}`),
  };
}
