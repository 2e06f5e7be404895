/**
 * The `console` group of `npm run bench`: the web console's weight and first load (docs/CONSOLE.md),
 * each against a peer measured in the same run — the Swagger UI page the same hub serves at /docs,
 * another single-page app behind the same HTTP server. Weight: every byte a first load of the page
 * fetches, raw and gzip-compressed here (the hub sends them uncompressed; gzip is what a proxy in
 * front would send). First load: a fresh Chromium context (empty cache) from navigation start until
 * the page's first control is visible (the console's "Log in" button, Swagger UI's API title),
 * alternating the two pages. Writes the `bench:console` section of docs/BENCHMARKS.md.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startHub } from '../src/index.js';
import { buildConsole, chromiumPath } from '../src/console-browser.js';
import { repoRoot } from '../src/spawn-hub.js';
import { sourceRevision } from './cluster-report.js';
import { describeMachine } from './machine.js';
import { DOC_PATH } from './report.js';
import { median } from './stats.js';

const ROUNDS = 9;
const START = '<!-- bench:console:start -->';
const END = '<!-- bench:console:end -->';
const log = (msg: string) => console.error(`[bench:console] ${msg}`);

interface PageSpec {
  name: string;
  path: string;
  ready: (page: Page) => Promise<void>;
}

const pages: PageSpec[] = [
  { name: 'console (/console/)', path: '/console/', ready: (p) => p.getByRole('button', { name: 'Log in' }).waitFor() },
  { name: 'Swagger UI (/docs)', path: '/docs', ready: (p) => p.getByText('edgehub management API').first().waitFor() },
];

interface Weight {
  requests: number;
  raw: number;
  gzip: number;
}

interface Load {
  page: string;
  ms: number;
}

async function loadOnce(browser: Browser, base: string, spec: PageSpec, weigh: boolean): Promise<{ ms: number; weight?: Weight }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const bodies: Promise<Buffer | undefined>[] = [];
  if (weigh) page.on('response', (r) => bodies.push(r.body().catch(() => undefined)));
  const t0 = performance.now();
  await page.goto(base + spec.path, { waitUntil: 'commit' });
  await spec.ready(page);
  const ms = performance.now() - t0;
  let weight: Weight | undefined;
  if (weigh) {
    await page.waitForLoadState('networkidle');
    const all = (await Promise.all(bodies)).filter((b): b is Buffer => b !== undefined);
    weight = { requests: all.length, raw: all.reduce((s, b) => s + b.length, 0), gzip: all.reduce((s, b) => s + gzipSync(b).length, 0) };
  }
  await context.close();
  return { ms, weight };
}

const kb = (n: number) => (n / 1024).toFixed(1);

/** Every file of the build's assets (the first-load bundle and the chunks fetched later), raw and gzip. */
async function bundle(): Promise<{ files: number; raw: number; gzip: number; names: string[] }> {
  const dir = join(repoRoot, 'console', 'dist', 'assets');
  const names = (await readdir(dir)).sort();
  const bodies = await Promise.all(names.map((n) => readFile(join(dir, n))));
  return {
    files: names.length,
    raw: bodies.reduce((s, b) => s + b.length, 0),
    gzip: bodies.reduce((s, b) => s + gzipSync(b).length, 0),
    names: names.map((n, i) => `${n.replace(/-[A-Za-z0-9_-]{8}\./, '.')} ${kb(gzipSync(bodies[i]!).length)}`),
  };
}

function render(
  weights: Map<string, Weight>,
  loads: Load[],
  started: Date,
  load: { start: number; end: number },
  all: Awaited<ReturnType<typeof bundle>>,
): string {
  const m = describeMachine();
  const [own, peer] = pages as [PageSpec, PageSpec];
  const ms = (name: string) => loads.filter((l) => l.page === name).map((l) => l.ms);
  const w = (name: string) => weights.get(name)!;
  const rows = pages.map((p) => {
    const x = ms(p.name);
    return `| ${p.name} | ${w(p.name).requests} | ${kb(w(p.name).raw)} | ${kb(w(p.name).gzip)} | ${median(x).toFixed(0)} | ${Math.min(...x).toFixed(0)} | ${Math.max(...x).toFixed(0)} |`;
  });
  return [
    '_Written by `npm run bench -- console` (test/bench/console-bench.ts); everything between the `bench:console` markers is replaced on the next run._',
    '',
    `Run ${started.toISOString()} on ${m.cpuModel} (${m.nproc} CPUs, Node ${m.node}), Debian Chromium headless, load average ${load.start.toFixed(2)} at the start, ${load.end.toFixed(2)} at the end; source ${sourceRevision()}.`,
    `Both pages are served by the same hub on loopback. Weight: every response of a first load (HTML, scripts, styles, the OpenAPI document for Swagger UI), raw and gzip-compressed. First load: a fresh browser context (empty cache) from navigation until the first control is visible, ${ROUNDS} loads of each page, alternating.`,
    '',
    '| page | requests | KiB raw | KiB gzip | first load, median ms | fastest | slowest |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `**Console ÷ Swagger UI: weight ${(w(own.name).gzip / w(peer.name).gzip).toFixed(2)}× (gzip), first load ${(median(ms(own.name)) / median(ms(peer.name))).toFixed(2)}× (medians).**`,
    '',
    `The whole build (console/dist/assets): ${all.files} files, ${kb(all.raw)} KiB raw, ${kb(all.gzip)} KiB gzip. Only the main script and stylesheet are in the first load; the CSV parser (first import) and the device-management portals (groups, policies, app publisher, app store: first visit) are chunks fetched when needed. Per file, KiB gzip: ${all.names.join(', ')}.`,
  ].join('\n');
}

async function writeSection(section: string): Promise<void> {
  let doc = existsSync(DOC_PATH) ? await readFile(DOC_PATH, 'utf8') : '# Benchmarks\n';
  const block = `${START}\n${section}\n${END}`;
  const s = doc.indexOf(START);
  const e = doc.indexOf(END);
  doc =
    s >= 0 && e > s
      ? doc.slice(0, s) + block + doc.slice(e + END.length)
      : `${doc.trimEnd()}\n\n## Web console: weight and first load\n\n${block}\n`;
  await writeFile(DOC_PATH, doc);
}

export async function runConsoleBenchmarks(): Promise<void> {
  const started = new Date();
  const loadStart = loadavg()[0] ?? NaN;
  buildConsole();
  const h = await startHub();
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
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
  try {
    const weights = new Map<string, Weight>();
    for (const p of pages) {
      const r = await loadOnce(browser, h.baseUrl, p, true);
      weights.set(p.name, r.weight!);
      log(`${p.name}: ${r.weight!.requests} requests, ${kb(r.weight!.gzip)} KiB gzip`);
    }
    const loads: Load[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? pages : [...pages].reverse();
      for (const p of order) loads.push({ page: p.name, ms: (await loadOnce(browser, h.baseUrl, p, false)).ms });
    }
    const section = render(weights, loads, started, { start: loadStart, end: loadavg()[0] ?? NaN }, await bundle());
    console.log(section);
    await writeSection(section);
    log(`wrote ${DOC_PATH}`);
  } finally {
    await browser.close();
    await h.close();
  }
}
