import { safeEqualHex, tokenEncryption } from '@edgehub/shared';
import type { Registry } from '../registry/registry.js';
import type { ApplicationRecord } from '../registry/records.js';
import type { ReplayLedger } from '../auth/replay-ledger.js';

/**
 * CONNECT of an application to the stream (our own protocol, documented in docs/PROTOCOL.md):
 *   ClientId  {cid}|authtype=app,timestamp={ms}|
 *   Username  {accessKey}
 *   Password  hex(sha256(accessKey + timestamp + accessSecret))   — the apim token "encryption" (§7.2)
 * The timestamp must be within the token window of the server clock, and a signature is accepted
 * once: a replayed login gets CONNACK 5, as the token service answers 1001 (docs/SECURITY.md, "Replay").
 */
export type AppDecision = { ok: true; app: ApplicationRecord } | { ok: false; returnCode: 4 | 5; reason: string };

export async function authenticateApp(
  input: { timestamp: string | undefined; username: string | undefined; password: Buffer | undefined },
  registry: Registry,
  now: number,
  windowSeconds: number,
  ledger: ReplayLedger,
): Promise<AppDecision> {
  const { timestamp, username, password } = input;
  if (!timestamp || !username || !password)
    return { ok: false, returnCode: 4, reason: 'application login needs timestamp, username and password' };
  const ts = Number(timestamp);
  if (!Number.isFinite(ts) || Math.abs(now - ts) > windowSeconds * 1000)
    return { ok: false, returnCode: 4, reason: 'timestamp outside the allowed window' };
  const app = await registry.applications.byAccessKey(username);
  if (!app) return { ok: false, returnCode: 4, reason: 'unknown application' };
  if (!safeEqualHex(tokenEncryption(app.accessKey, timestamp, app.accessSecret), password.toString('utf8')))
    return { ok: false, returnCode: 4, reason: 'signature mismatch' };
  if (!(await ledger.firstUse(app.accessKey, password.toString('utf8'), now)))
    return { ok: false, returnCode: 5, reason: 'replayed login: this signature was already used' };
  return { ok: true, app };
}
