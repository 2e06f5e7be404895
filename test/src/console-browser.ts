import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from './spawn-hub.js';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). */
export const chromiumPath = '/usr/bin/chromium';
export const hasChromium = existsSync(chromiumPath);
/** Screenshots the console tests keep as CI artifacts (gitignored). */
export const screenshotDir = join(repoRoot, 'test', 'output', 'screenshots');

/** Builds console/dist when its sources changed (what `npm start` and `npm test` run first). */
export function buildConsole(): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'console/scripts/build-if-stale.ts'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`console build failed:\n${r.stdout}${r.stderr}`);
}

export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile and no traffic of its own (no updates, sync or QUIC probes). */
export async function launchConsoleBrowser(): Promise<ConsoleBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  // A fresh profile per run: the persistent-context form is how Playwright takes --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  mkdirSync(screenshotDir, { recursive: true });
  return {
    context,
    page,
    async screenshot(name) {
      const path = join(screenshotDir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

let axeSource: string | undefined;

/** Runs axe-core in the page and returns the serious and critical violations (WCAG 2.x A and AA rules). */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated over the DevTools protocol: the console's policy forbids inline <script> tags.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** The tablet width the console is checked at (docs/CONSOLE.md, accessibility). */
export const TABLET = { width: 768, height: 1024 };

/** What makes the current page hard to use at its viewport: a sideways scroll, navigation links off screen, axe violations. */
export async function layoutProblems(page: Page): Promise<string[]> {
  const found: string[] = [];
  const viewport = page.viewportSize()?.width ?? TABLET.width;
  const [scroll, client] = await page.evaluate<[number, number]>(
    '[document.documentElement.scrollWidth, document.documentElement.clientWidth]',
  );
  if (scroll > client) found.push(`scrolls sideways: ${scroll} > ${client}`);
  for (const link of await page.getByRole('navigation', { name: 'Console' }).getByRole('link').all()) {
    const box = await link.boundingBox();
    if (!box || box.x < 0 || box.x + box.width > viewport) found.push(`navigation link ${await link.textContent()} is off screen`);
  }
  found.push(...(await seriousA11yViolations(page)).map((v) => `${v.id} (${v.impact}): ${v.help}`));
  return found;
}
