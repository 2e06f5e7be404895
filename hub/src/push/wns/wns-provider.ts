import type { PushProvider, PushTarget, WakeOutcome } from '../port.js';
import type { ChannelOrigins } from './channel-uri.js';
import { WnsTokenError, type WnsTokenSource } from './wns-token.js';

/**
 * WNS raw notifications as the core's push port (docs/DEVICE-MANAGEMENT.md, "Windows: push"). The
 * push target's token is the device's channel URI. One POST per wake-up, body ignored by the
 * device (it only opens a management session):
 *   200            sent (X-WNS-Msg-ID as id)
 *   401            the access token expired: fetch a new one and try once more
 *   404, 410       the channel URI is unknown or expired: dropped until the device reports a new one
 *   406, 429, 5xx  throttled or WNS trouble: retry with backoff (Retry-After honoured)
 *   400, 403, 413  refused for a reason retrying will not fix (bad request, wrong credentials)
 */
export class WnsPushProvider implements PushProvider {
  readonly id = 'wns';

  constructor(
    private readonly tokens: WnsTokenSource | undefined,
    private readonly origins: ChannelOrigins,
  ) {}

  async wake(target: PushTarget): Promise<WakeOutcome> {
    if (!this.tokens) return { kind: 'rejected', reason: 'WNS credentials are not configured (HUB_WNS_CLIENT_ID, HUB_WNS_CLIENT_SECRET)' };
    const url = this.origins.check(target.token);
    if (!url) return { kind: 'token-invalid', reason: 'channel URI outside HUB_WNS_CHANNEL_ORIGINS' };
    for (let attempt = 0; ; attempt++) {
      let token: string;
      try {
        token = await this.tokens.token();
      } catch (err) {
        if (err instanceof WnsTokenError && (err.status === 400 || err.status === 401 || err.status === 403))
          return { kind: 'rejected', reason: `WNS refused the credentials (${err.status})`, status: err.status };
        return { kind: 'retry-after', reason: `WNS token: ${err instanceof Error ? err.message : String(err)}` };
      }
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/octet-stream',
            'x-wns-type': 'wns/raw',
            'x-wns-cache-policy': 'cache',
          },
          body: 'wake',
          signal: AbortSignal.timeout(15_000),
        });
        await res.arrayBuffer();
      } catch (err) {
        return { kind: 'retry-after', reason: `WNS unreachable: ${err instanceof Error ? err.message : String(err)}` };
      }
      const status = res.status;
      if (status === 200) return { kind: 'sent', ...(res.headers.get('x-wns-msg-id') ? { id: res.headers.get('x-wns-msg-id')! } : {}) };
      if (status === 401 && attempt === 0) {
        this.tokens.invalidate(token);
        continue;
      }
      if (status === 404 || status === 410)
        return { kind: 'token-invalid', reason: status === 410 ? 'channel expired (410)' : 'channel not found (404)' };
      if (status === 401 || status === 406 || status === 429 || status >= 500) {
        const after = retryAfterMs(res.headers.get('retry-after'));
        return { kind: 'retry-after', reason: `WNS answered ${status}`, ...(after !== undefined ? { afterMs: after } : {}) };
      }
      return { kind: 'rejected', reason: `WNS answered ${status}`, status };
    }
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return Math.min(s, 3600) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - Date.now(), 3_600_000));
}
