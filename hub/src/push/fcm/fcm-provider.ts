import type { PushProvider, PushTarget, WakeOutcome } from '../port.js';
import { FcmAccessTokens, TokenRefusedError, googleTokenUrl } from './access-token.js';
import type { ServiceAccount } from './service-account.js';

export const fcmProductionUrl = 'https://fcm.googleapis.com';

export interface FcmProviderOptions {
  account: ServiceAccount;
  /** https://fcm.googleapis.com in production; the FCM simulator's URL in tests. */
  url?: string;
  /** The OAuth2 token endpoint; default: the key file's token_uri, else Google's. */
  tokenUrl?: string;
  clock?: () => number;
  requestTimeoutMs?: number;
}

/** The FCM error code of a v1 error answer: details[].errorCode of the FcmError, else error.status. */
function fcmErrorCode(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const error = (body as Record<string, unknown>)['error'];
  if (error === null || typeof error !== 'object') return '';
  const e = error as Record<string, unknown>;
  if (Array.isArray(e['details'])) {
    for (const d of e['details'] as unknown[]) {
      const code = d !== null && typeof d === 'object' ? (d as Record<string, unknown>)['errorCode'] : undefined;
      if (typeof code === 'string') return code;
    }
  }
  return typeof e['status'] === 'string' ? e['status'] : '';
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * FCM HTTP v1 behind the push port (docs/DEVICE-MANAGEMENT.md, "Android: FCM"): one data message
 * per wake-up (`data.type = SYNC`, high priority, collapsed per device) to the token the agent
 * registered. Answers map to wake outcomes: UNREGISTERED (404) and SENDER_ID_MISMATCH → the token
 * is dropped until the device sends a new one; 429 and 5xx → retried by the push worker with
 * backoff and jitter, not before Retry-After; 401 → a new access token and one more try.
 */
export class FcmPushProvider implements PushProvider {
  readonly id = 'fcm';
  readonly tokens: FcmAccessTokens;
  private readonly sendUrl: string;
  private readonly clock: () => number;

  constructor(private readonly opts: FcmProviderOptions) {
    this.clock = opts.clock ?? Date.now;
    this.tokens = new FcmAccessTokens(opts.account, opts.tokenUrl ?? opts.account.tokenUri ?? googleTokenUrl, this.clock);
    this.sendUrl = `${(opts.url ?? fcmProductionUrl).replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(opts.account.projectId)}/messages:send`;
  }

  async wake(target: PushTarget): Promise<WakeOutcome> {
    for (let attempt = 0; ; attempt++) {
      let accessToken: string;
      try {
        accessToken = await this.tokens.get();
      } catch (err) {
        if (err instanceof TokenRefusedError) return { kind: 'rejected', reason: err.message, status: err.status };
        return { kind: 'retry-after', reason: err instanceof Error ? err.message : String(err) };
      }
      const outcome = await this.send(target.token, accessToken);
      if (outcome === 'unauthenticated') {
        this.tokens.invalidate(accessToken);
        if (attempt === 0) continue;
        return { kind: 'rejected', reason: 'FCM refused a fresh access token (401)', status: 401 };
      }
      return outcome;
    }
  }

  private async send(token: string, accessToken: string): Promise<WakeOutcome | 'unauthenticated'> {
    const body = {
      message: {
        token,
        data: { type: 'SYNC', ts: String(Math.floor(this.clock() / 1000)) },
        android: { priority: 'HIGH', ttl: '2419200s', collapse_key: 'mdm-sync' },
      },
    };
    let res: Response;
    try {
      res = await fetch(this.sendUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 15_000),
      });
    } catch (err) {
      return { kind: 'retry-after', reason: err instanceof Error ? err.message : String(err) };
    }
    let parsed: unknown;
    try {
      parsed = await res.json();
    } catch {
      parsed = undefined;
    }
    if (res.ok) {
      const name = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)['name'] : undefined;
      return { kind: 'sent', ...(typeof name === 'string' ? { id: name } : {}) };
    }
    const code = fcmErrorCode(parsed);
    if (res.status === 401) return 'unauthenticated';
    if (res.status === 404 || code === 'UNREGISTERED' || code === 'SENDER_ID_MISMATCH')
      return { kind: 'token-invalid', reason: code || String(res.status) };
    if (res.status === 429 || res.status >= 500) {
      const afterMs = retryAfterMs(res.headers.get('retry-after'));
      return { kind: 'retry-after', reason: code || String(res.status), ...(afterMs !== undefined ? { afterMs } : {}) };
    }
    return { kind: 'rejected', reason: code || String(res.status), status: res.status };
  }
}
