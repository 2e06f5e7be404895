import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints, type Endpoint } from '../../console/src/api/endpoints.js';
import { startHub, type RunningHub } from '../src/index.js';
import { buildConsole, hasChromium, launchConsoleBrowser, type ConsoleBrowser } from '../src/console-browser.js';

/**
 * The console's contract with the hub (docs/CONSOLE.md): every endpoint it calls is in the hub's
 * OpenAPI document, the hub serves it under a strict content policy, and a session ends cleanly
 * when its token expires, whether the console's timer or the hub notices first.
 */
const inCi = process.env.CI === 'true';

describe('web console: API contract and session', () => {
  let h: RunningHub;

  beforeAll(async () => {
    buildConsole();
    h = await startHub();
  }, 90_000);
  afterAll(async () => {
    await h?.close();
  });

  it('calls only endpoints the OpenAPI document lists, with their method', async () => {
    type Operation = { parameters?: { name: string; in: string; schema?: { enum?: string[] } }[] };
    const doc = (await (await fetch(`${h.baseUrl}/docs/json`)).json()) as { paths: Record<string, Record<string, Operation>> };
    const missing: string[] = [];
    for (const [name, e] of Object.entries(endpoints) as [string, Endpoint][]) {
      const op = doc.paths[e.path]?.[e.method.toLowerCase()];
      // An EnOS action is a value of the operation's required `action` query parameter (docs/PROTOCOL.md, OpenAPI document).
      const actions = op?.parameters?.find((p) => p.in === 'query' && p.name === 'action')?.schema?.enum ?? [];
      if (!op || (e.action !== undefined && !actions.includes(e.action)))
        missing.push(`${name}: ${e.method} ${e.path}${e.action ? `?action=${e.action}` : ''}`);
    }
    expect(missing).toEqual([]);
  });

  it('serves the console with a same-origin content policy, and immutable hashed assets', async () => {
    const index = await fetch(`${h.baseUrl}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    expect(html).not.toMatch(/https?:\/\//);
    const js = await fetch(`${h.baseUrl}${asset!}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    const redirect = await fetch(`${h.baseUrl}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/console/');
  });

  describe.skipIf(!hasChromium && !inCi)('in Chromium', () => {
    let b: ConsoleBrowser;
    beforeAll(async () => {
      if (!hasChromium) throw new Error('CI=true but /usr/bin/chromium is missing: .ci/run installs the chromium package');
      b = await launchConsoleBrowser();
    });
    afterAll(async () => {
      await b?.close();
    });

    async function logIn(): Promise<void> {
      const { page } = b;
      await page.goto(`${h.baseUrl}/console/`);
      await page.getByLabel('Access key').fill(h.adminCreds.accessKey);
      await page.getByLabel('Secret').fill(h.adminCreds.accessSecret);
      // No organization ID: an administrator application gets the first organization it can list.
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Operations' }).waitFor();
      await page.getByText(h.adminCreds.orgId).waitFor();
    }

    it('ends the session when the hub answers that the token expired (1203)', async () => {
      const { page } = b;
      await logIn();
      h.advanceClock(7300 * 1000);
      try {
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Products', exact: true }).click();
        await page.getByRole('status').filter({ hasText: 'Your session expired. Log in again.' }).waitFor();
      } finally {
        h.advanceClock(-7300 * 1000);
      }
    });

    it("ends the session when the token's lifetime is over, by the console's own timer", async () => {
      const { page } = b;
      // Browser time only: the hub's clock is real, so log in first, then move the page's clock on.
      await page.clock.install();
      await page.reload();
      await logIn();
      await page.clock.fastForward(7200 * 1000 + 1000);
      await page.getByRole('status').filter({ hasText: 'Your session expired. Log in again.' }).waitFor();
      expect(await page.getByLabel('Secret').inputValue()).toBe('');
      await b.screenshot('console-session-expired');
    });
  });
});
