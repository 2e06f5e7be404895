import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ApiClient } from '@edgehub/hub';
import { topics } from '@edgehub/shared';
import { connectDevice, spawnHub, type SpawnedHub, type TestDevice } from '../src/index.js';
import {
  TABLET,
  buildConsole,
  hasChromium,
  launchConsoleBrowser,
  layoutProblems,
  seriousA11yViolations,
  type ConsoleBrowser,
} from '../src/console-browser.js';

/**
 * The web console (docs/CONSOLE.md) driven in Debian's Chromium against a spawned hub, as an
 * operator uses it: log in, a product with a thing model, a device, its value live, a command
 * replied, a CSV import with a bad line, a certificate revoked; axe-core on the main pages.
 * Each step leaves a screenshot in test/output/screenshots/.
 */
const inCi = process.env.CI === 'true';
if (inCi && !hasChromium) throw new Error('CI=true but /usr/bin/chromium is missing: .ci/run installs the chromium package');

const thingModel = {
  measurepoints: { power: { name: 'Active power', dataType: 'DOUBLE', unit: 'kW' } },
  attributes: {},
  events: {} as Record<string, unknown>,
  services: {
    setLimit: {
      name: 'Set power limit',
      callType: 'SYNC',
      inputData: { limit: { name: 'Limit', dataType: 'INT', unit: 'kW' } },
      outputData: {},
    },
  },
};

describe.skipIf(!hasChromium)('web console in Chromium', () => {
  let hub: SpawnedHub;
  let dir: string;
  let b: ConsoleBrowser;
  let creds: { orgId: string; accessKey: string; accessSecret: string };
  let api: ApiClient;
  let productKey = '';
  const device = { assetId: '', deviceKey: 'inv-1', secret: '' };
  let mqttDevice: TestDevice | undefined;
  /** The page's uncaught errors and console errors, for the report of a failed test. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    buildConsole();
    dir = mkdtempSync(join(tmpdir(), 'console-e2e-'));
    hub = await spawnHub({ HUB_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' });
    creds = JSON.parse(readFileSync(join(dir, 'data', 'admin-credentials.json'), 'utf8')) as typeof creds;
    api = new ApiClient({ baseUrl: hub.baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
    b = await launchConsoleBrowser();
    b.page.on('pageerror', (err) => pageErrors.push(String(err)));
    b.page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  }, 90_000);

  // A failed step says where the page was: its address, its errors and what it showed (printed,
  // so CI's log has it), and a screenshot under test/output/screenshots.
  beforeEach(({ task, onTestFailed }) => {
    onTestFailed(async () => {
      const page = b.page;
      const text = await page.evaluate('document.body.innerText').then(String, (err: unknown) => `(unreadable: ${String(err)})`);
      const shot = await b
        .screenshot(`failed-${task.name.replace(/\W+/g, '-').slice(0, 60)}`)
        .catch((err: unknown) => `(no screenshot: ${String(err)})`);
      console.log(
        `console-e2e: "${task.name}" failed at ${page.url()}\npage errors: ${pageErrors.slice(-10).join(' | ') || 'none'}\n` +
          `screenshot: ${shot}\nvisible text:\n${text.slice(0, 2_000)}`,
      );
    });
  });

  afterAll(async () => {
    await mqttDevice?.end();
    await b?.close();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in with an application key and secret, and keeps neither in storage', async () => {
    const { page } = b;
    await page.goto(`${hub.baseUrl}/console/`);
    await page.getByLabel('Access key').fill(creds.accessKey);
    await page.getByLabel('Secret').fill(creds.accessSecret);
    await page.getByLabel('Organization ID').fill(creds.orgId);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Operations' }).waitFor();
    await page.getByText(creds.orgId).waitFor();
    const stored = String(
      await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie'),
    );
    expect(stored).not.toContain(creds.accessSecret);
    expect(stored).not.toContain(creds.accessKey);
    await b.screenshot('console-01-login');
  });

  it('refuses an invalid thing model, edits it with the form (round trip with the JSON), then creates the product', async () => {
    const { page } = b;
    await nav(page, 'Products');
    await page.getByLabel('Product name').fill('Inverter');
    const editor = page.getByLabel(/Thing model/);
    await editor.fill(JSON.stringify({ measurepoints: { power: { dataType: 'DECIMAL' } } }));
    await page.getByText('measurepoints.power.dataType: one of INT').first().waitFor();
    expect(await page.getByRole('button', { name: 'Create product' }).isDisabled()).toBe(true);
    await editor.fill(JSON.stringify(thingModel, null, 2));
    await page.getByText('The thing model is valid.').waitFor();

    // The form edits the same model: an event with an output parameter, added row by row.
    await page.getByRole('button', { name: 'Add event' }).click();
    await page.getByLabel('Identifier of event 1').fill('overheat');
    await page.getByLabel('Identifier of event 1').press('Tab');
    await page.getByLabel('Name of event overheat').fill('Overheat');
    await page.getByRole('button', { name: 'Add parameter (Output of event overheat)' }).click();
    await page.getByLabel('Output of event overheat: parameter 1').fill('temp');
    await page.getByLabel('Output of event overheat: parameter 1').press('Tab');
    await page.getByLabel('Data type of events.overheat.outputData.temp').selectOption('DOUBLE');
    await page.getByLabel('Unit of events.overheat.outputData.temp').fill('°C');
    // Checked as you type: a bad identifier is named and not written; an ENUM without values is a problem.
    await page.getByLabel('Identifier of measurepoint 1').fill('9power');
    await page.getByText('a letter or _, then up to 63 of A-Z a-z 0-9 _ . -').waitFor();
    await page.getByLabel('Identifier of measurepoint 1').press('Tab');
    expect(JSON.parse(await editor.inputValue())).toHaveProperty('measurepoints.power');
    await page.getByLabel('Identifier of measurepoint 1').fill('power');
    await page.getByLabel('Data type of measurepoints.power').selectOption('ENUM');
    await page.getByText('measurepoints.power.enumValues: an ENUM lists its values').first().waitFor();
    expect(await page.getByRole('button', { name: 'Create product' }).isDisabled()).toBe(true);
    await page.getByLabel('Data type of measurepoints.power').selectOption('DOUBLE');
    await page.getByText('The thing model is valid.').waitFor();
    const edited = { ...thingModel, events: { overheat: { name: 'Overheat', outputData: { temp: { dataType: 'DOUBLE', unit: '°C' } } } } };
    expect(JSON.parse(await editor.inputValue())).toEqual(edited);
    // …and the JSON editor redraws the form.
    await editor.fill(JSON.stringify({ ...edited, measurepoints: { power: { ...edited.measurepoints.power, unit: 'MW' } } }, null, 2));
    expect(await page.getByLabel('Unit of measurepoints.power').inputValue()).toBe('MW');
    await page.getByLabel('Unit of measurepoints.power').fill('kW');
    expect(JSON.parse(await editor.inputValue())).toEqual(edited);
    await b.screenshot('console-02-thing-model-form');

    await page.getByRole('button', { name: 'Create product' }).click();
    const created = await page.getByRole('status').filter({ hasText: 'Created product' }).textContent();
    productKey = /Created product (\S+)/.exec(created ?? '')![1]!;
    const got = await api.ok<{ thingModel: typeof edited }>('GET', '/connect-service/v2.1/products', {
      action: 'get',
      orgId: creds.orgId,
      productKey,
    });
    expect(got.data.thingModel.services.setLimit.inputData.limit.dataType).toBe('INT');
    expect(got.data.thingModel.events.overheat.outputData.temp).toEqual({ dataType: 'DOUBLE', unit: '°C' });
    await page.getByRole('cell', { name: 'Inverter' }).waitFor();
    await b.screenshot('console-02-product');
  });

  it('keeps an identifier typed right after a row is added, however late the form settles', async () => {
    const { page } = b;
    await nav(page, 'Products');
    await page.getByLabel(/Thing model/).fill(JSON.stringify(thingModel, null, 2));
    await page.getByText('The thing model is valid.').waitFor();
    // A busy machine: the page's frames come late, so whatever the form does after painting comes
    // well after the user's next keystrokes (found when a loaded CI run lost the typed identifier).
    await page.evaluate(
      'window.realRequestAnimationFrame = window.requestAnimationFrame; window.requestAnimationFrame = (cb) => setTimeout(() => cb(performance.now()), 300)',
    );
    await page.getByRole('button', { name: 'Add attribute' }).click();
    await page.getByLabel('Identifier of attribute 1').fill('serial');
    await page.getByLabel('Identifier of attribute 1').press('Tab');
    await page.getByRole('group', { name: 'attribute serial' }).waitFor({ timeout: 5_000 });
    expect(JSON.parse(await page.getByLabel(/Thing model/).inputValue())).toHaveProperty('attributes.serial');
    await page.evaluate('window.requestAnimationFrame = window.realRequestAnimationFrame');
  });

  it('creates a device and shows its secret once', async () => {
    const { page } = b;
    await nav(page, 'Devices');
    const form = page.getByRole('form', { name: 'New device' });
    await form.getByLabel('Product').selectOption(productKey);
    await form.getByLabel('Device key').fill(device.deviceKey);
    await form.getByLabel('Device name').fill('Inverter 1');
    await form.getByRole('button', { name: 'Create device' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Created device ${device.deviceKey}` })
      .waitFor();
    device.secret = (await page.locator('code.secret').textContent()) ?? '';
    expect(device.secret).toMatch(/^\S{16,}$/);
    await page.getByRole('link', { name: 'Inverter 1' }).waitFor();
    await b.screenshot('console-03-device');
  });

  it("shows a connected device's value live on the device page", async () => {
    const { page } = b;
    await page.getByRole('link', { name: 'Open the device' }).click();
    await page.getByRole('heading', { name: 'Inverter 1' }).waitFor();
    await page.getByText('Live: values appear as the device sends them.').waitFor();
    device.assetId = decodeURIComponent(/#\/devices\/([^/?]+)/.exec(page.url())![1]!);
    mqttDevice = await connectDevice(hub.mqttUrl!, { productKey, deviceKey: device.deviceKey, secret: device.secret });
    await page.getByTestId('device-status').filter({ hasText: 'online' }).waitFor();
    const reply = await mqttDevice.request(topics.measurepointPost(productKey, device.deviceKey), 'thing.measurepoint.post', {
      measurepoints: { power: 42.5 },
      time: Date.now(),
    });
    expect(reply.code).toBe(200);
    await page.locator('tr[data-measurepoint="power"] td.value').filter({ hasText: '42.5' }).waitFor();
    // The history chart of the last hour extends its line with the value that just arrived.
    await page.locator('svg.chart circle.dot').first().waitFor();
    await b.screenshot('console-04-live');
  });

  it('sends invokeService from the thing-model form and follows it to replied', async () => {
    const { page } = b;
    const received: unknown[] = [];
    mqttDevice!.client.on('message', (topic, payload) => {
      const parsed = topics.parse(topic);
      if (!parsed || parsed.isReply || parsed.kind !== 'serviceInvoke') return;
      const msg = JSON.parse(payload.toString()) as { id: string; params: unknown };
      received.push(msg.params);
      void mqttDevice!.client.publishAsync(topics.reply(topic), JSON.stringify({ id: msg.id, code: 200, data: { accepted: true } }));
    });
    const form = page.getByRole('form', { name: 'Invoke a service' });
    await form.getByLabel('Limit (kW)').fill('80');
    await form.getByRole('button', { name: 'Send command' }).click();
    await page.getByTestId('command-status').filter({ hasText: 'replied' }).waitFor();
    expect(received).toEqual([{ limit: 80 }]);
    await b.screenshot('console-05-command');
  });

  it("lists the device's past events from history on its page, not only those arriving live", async () => {
    const { page } = b;
    await nav(page, 'Devices');
    const posted = Date.now();
    const reply = await mqttDevice!.request(topics.eventPost(productKey, device.deviceKey, 'overheat'), 'thing.event.overheat.post', {
      events: { temp: 91.5 },
      time: posted,
    });
    expect(reply.code).toBe(200);
    // The page opens after the event: only the history can show it.
    await page.goto(`${hub.baseUrl}/console/#/devices/${encodeURIComponent(device.assetId)}`);
    await page.getByRole('heading', { name: 'Inverter 1' }).waitFor();
    const row = page.locator('table.device-events tr[data-event-id="overheat"]');
    await row.filter({ hasText: '91.5' }).waitFor();
    expect(await row.count()).toBe(1);
    await b.screenshot('console-05b-events');
  });

  it("imports a CSV with progress and names the bad line's error", async () => {
    const { page } = b;
    await nav(page, 'Devices');
    const form = page.getByRole('form', { name: 'Import devices' });
    await form.getByLabel('Product').selectOption(productKey);
    const csv = 'deviceKey,deviceName,tag:site\ninv-2,"Inverter 2, roof",north\ninv-3,,south\ninv-4,Inverter 4,south\n';
    await form.getByLabel('CSV file').setInputFiles({ name: 'inverters.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await form.getByRole('button', { name: 'Import' }).click();
    await page.getByRole('status').filter({ hasText: 'Imported 2 of 3 devices; 1 lines refused.' }).waitFor();
    const rows = page.locator('table.import-errors tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toBe('3deviceName is empty');
    expect(await page.locator('progress').getAttribute('value')).toBe('3');
    const found = await api.ok<{ deviceKey: string }[]>(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'search', orgId: creds.orgId },
      { expression: `productKey = '${productKey}'`, pagination: { pageNo: 1, pageSize: 10 } },
    );
    expect(found.data.map((d) => d.deviceKey).sort()).toEqual(['inv-1', 'inv-2', 'inv-4']);
    await b.screenshot('console-06-import');
  });

  it('revokes a certificate after confirmation; the hub lists it revoked', async () => {
    const { page } = b;
    // Certificates belong to products with bi-directional (certificate) authentication.
    const product = await api.ok<string>(
      'POST',
      '/connect-service/v2.1/products',
      { action: 'create', orgId: creds.orgId },
      { productName: { defaultValue: 'Secure meter' }, productType: 'Device', dataFormat: 'Json', biDirectionalAuth: true },
    );
    const meter = await api.ok<{ assetId: string }>(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'create', orgId: creds.orgId },
      { productKey: product.data, deviceKey: 'meter-1', deviceName: { defaultValue: 'Meter 1' }, timezone: '+08:00' },
    );
    const key = join(dir, 'device.key');
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    const csr = run('openssl', [
      'req',
      '-new',
      '-key',
      key,
      '-subj',
      `/C=CN/ST=Shanghai/L=Shanghai/O=EnOS/OU=Meters/CN=meter-1-${Date.now()}`,
      '-sha256',
    ]);
    const issued = await api.ok<{ certSN: string }>(
      'POST',
      '/connect-service/v2.1/certificates',
      { action: 'apply', orgId: creds.orgId, assetId: meter.data.assetId },
      { csr, issueAuthority: 'ECC' },
    );
    await nav(page, 'Certificates');
    await page.getByRole('button', { name: `Revoke certificate ${issued.data.certSN}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this certificate?' });
    await dialog.getByLabel('Reason').selectOption('1');
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Certificate ${issued.data.certSN} revoked` })
      .waitFor();
    await page.locator(`tr[data-cert-sn="${issued.data.certSN}"]`).getByTestId('cert-status').filter({ hasText: 'revoked' }).waitFor();
    const listed = await api.ok<{ certSN: string; certStatus: number }[]>('GET', '/connect-service/v2.1/certificates', {
      action: 'list',
      orgId: creds.orgId,
      assetId: meter.data.assetId,
    });
    expect(listed.data.find((c) => c.certSN === issued.data.certSN)?.certStatus).toBe(1);
    const crl = await page.evaluate(async () => (await fetch('/enos/CA/crl/ECC')).status);
    expect(crl).toBe(200);
    await b.screenshot('console-07-certificate');
  });

  it('lists devices of every type in device management, with the operations sent to them', async () => {
    const { page } = b;
    await nav(page, 'Device management');
    const row = page.getByRole('row').filter({ hasText: 'Inverter 1' });
    await row.getByRole('cell', { name: 'enos-mqtt' }).waitFor();
    await row.getByRole('button', { name: 'Operations of Inverter 1' }).click();
    const ops = page.getByRole('region', { name: 'Operations of Inverter 1' });
    await ops.getByRole('cell', { name: 'setLimit' }).waitFor();
    await b.screenshot('console-08-device-management');
  });

  it('has no serious or critical accessibility violations on the main pages', async () => {
    const { page } = b;
    const pages = [
      'dashboard',
      'products',
      `products/${productKey}`,
      'devices',
      `devices/${device.assetId}`,
      'gateways',
      'certificates',
      'device-management',
    ];
    const found: Record<string, string[]> = {};
    for (const p of pages) {
      await page.goto(`${hub.baseUrl}/console/#/${p}`);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
      const v = await seriousA11yViolations(page);
      if (v.length) found[p] = v.map((x) => `${x.id} (${x.impact}): ${x.help} ${JSON.stringify(x.nodes.slice(0, 3).map((n) => n.target))}`);
    }
    expect(found).toEqual({});
  });

  it('is usable at tablet width (768 px): no horizontal scroll, every page reachable from the navigation, axe clean', async () => {
    const { page } = b;
    await page.setViewportSize(TABLET);
    try {
      const problems: Record<string, string[]> = {};
      for (const p of [
        'dashboard',
        'products',
        `products/${productKey}`,
        'devices',
        `devices/${device.assetId}`,
        'gateways',
        'certificates',
        'device-management',
      ]) {
        await page.goto(`${hub.baseUrl}/console/#/${p}`);
        await page.locator('main h1').waitFor();
        await page.waitForLoadState('networkidle').catch(() => undefined);
        const found = await layoutProblems(page);
        if (found.length) problems[p] = found;
      }
      expect(problems).toEqual({});
      await page.goto(`${hub.baseUrl}/console/#/devices/${encodeURIComponent(device.assetId)}`);
      await page.getByRole('heading', { name: 'Inverter 1' }).waitFor();
      await b.screenshot('console-10-tablet-device');
      // The navigation works by keyboard: focus a link and follow it.
      await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Certificates', exact: true }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Certificates' }).waitFor();
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  it('ends the session on logout and needs the secret again', async () => {
    const { page } = b;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('status').filter({ hasText: 'You logged out.' }).waitFor();
    expect(await page.getByLabel('Secret').inputValue()).toBe('');
    await b.screenshot('console-09-logout');
  });
});

/** A page of the console's side navigation. */
async function nav(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name, exact: true }).click();
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
