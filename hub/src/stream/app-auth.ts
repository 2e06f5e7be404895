import { safeEqualHex, tokenEncryption } from '@edgehub/shared';
import type { Registry } from '../registry/registry.js';
import type { ApplicationRecord } from '../registry/records.js';

/**
 * CONNECT of an application to the stream (our own protocol, documented in docs/PROTOCOL.md):
 *   ClientId  {cid}|authtype=app,timestamp={ms}|
 *   Username  {accessKey}
 *   Password  hex(sha256(accessKey + timestamp + accessSecret))   — the apim token "encryption" (§7.2)
 * The timestamp must be within the token window of the server clock.
 */
export type AppDecision = { ok: true; app: ApplicationRecord } | { ok: false; returnCode: 4 | 5; reason: string };

export async function authenticateApp(
  input: { timestamp: string | undefined; username: string | undefined; password: Buffer | undefined },
  registry: Registry,
  now: number,
  windowSeconds: number,
): Promise<AppDecision> {
  const { timestamp, username, password } = input;
  if (!timestamp || !username || !password) return { ok: false, returnCode: 4, reason: 'application login needs timestamp, username and password' };
  const ts = Number(timestamp);
  if (!Number.isFinite(ts) || Math.abs(now - ts) > windowSeconds * 1000) return { ok: false, returnCode: 4, reason: 'timestamp outside the allowed window' };
  const app = await registry.applications.byAccessKey(username);
  if (!app) return { ok: false, returnCode: 4, reason: 'unknown application' };
  if (!safeEqualHex(tokenEncryption(app.accessKey, timestamp, app.accessSecret), password.toString('utf8'))) return { ok: false, returnCode: 4, reason: 'signature mismatch' };
  return { ok: true, app };
}
