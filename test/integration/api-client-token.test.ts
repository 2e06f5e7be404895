/**
 * Two clients of one application asking for a token in the same millisecond (two CLI processes,
 * two edges started together): both signatures are the same bytes, and the hub accepts a signature
 * once (docs/PROTOCOL.md §1, 1001). The client that was second signs again a millisecond later
 * and gets its token; the hub still refuses a true replay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@edgehub/hub';
import { tokenEncryption } from '@edgehub/shared';
import { startHub, type RunningHub } from '../src/index.js';

describe('signed REST client: token requests in the same millisecond', () => {
  let h: RunningHub;
  beforeAll(async () => {
    h = await startHub();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the second client of the same application signs again a millisecond later and gets a token', async () => {
    const t = Date.now();
    // Both clients read the same millisecond first; later reads move on.
    const reads = new Map<string, number>();
    const clock = (who: string) => () => {
      const n = reads.get(who) ?? 0;
      reads.set(who, n + 1);
      return t + n;
    };
    const opts = { baseUrl: h.baseUrl, accessKey: h.adminCreds.accessKey, accessSecret: h.adminCreds.accessSecret };
    const a = new ApiClient({ ...opts, clock: clock('a') });
    const b = new ApiClient({ ...opts, clock: clock('b') });
    await a.accessToken();
    await b.accessToken();
    // b's first request carried a's signature (refused, 1001); its second, a millisecond later, passed.
    expect(reads.get('b')).toBe(2);
    for (const c of [a, b])
      expect((await c.call('POST', '/connect-service/v2.1/products', { action: 'search', orgId: h.adminCreds.orgId }, {})).code).toBe(0);

    // A request really sent twice is still refused.
    const body = JSON.stringify({
      appKey: opts.accessKey,
      encryption: tokenEncryption(opts.accessKey, t + 5, opts.accessSecret),
      timestamp: t + 5,
    });
    const post = () =>
      fetch(`${h.baseUrl}/apim-token-service/v2.0/token/get`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }).then((r) => r.json() as Promise<{ status: number }>);
    expect((await post()).status).toBe(0);
    expect((await post()).status).toBe(1001);
  });
});
