import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { AndroidAgent, FcmSimulator, createServiceAccount } from '@edgehub/simulators/android';
import { clientCredentialsToken, startHub, type RunningHub } from '../src/index.js';
import {
  TABLET,
  buildConsole,
  hasChromium,
  launchConsoleBrowser,
  layoutProblems,
  seriousA11yViolations,
  type ConsoleBrowser,
} from '../src/console-browser.js';

type Json = Record<string, unknown>;

/**
 * The console's device-management portals (docs/CONSOLE.md) in Debian's Chromium, on a hub whose
 * Android devices are woken through the FCM simulator: lock / info / wipe with confirmation on a
 * simulated Android agent until COMPLETED; groups (create, edit, members); a policy created,
 * assigned to the group, applied, and the device's compliance; an app created, its artifact
 * uploaded, moved through its life cycle to PUBLISHED, installed on the group now and scheduled
 * for later (then cancelled). Each step leaves a screenshot in test/output/screenshots/.
 */
const inCi = process.env.CI === 'true';
if (inCi && !hasChromium) throw new Error('CI=true but /usr/bin/chromium is missing: .ci/run installs the chromium package');

describe.skipIf(!hasChromium)('web console: device management in Chromium', () => {
  let h: RunningHub;
  let fcm: FcmSimulator;
  let dir: string;
  let b: ConsoleBrowser;
  let bearer: string;
  let phone: AndroidAgent;
  let phoneName = '';
  let groupId = '';

  const dm = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${h.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };

  beforeAll(async () => {
    buildConsole();
    dir = await mkdtemp(join(tmpdir(), 'console-mdm-'));
    fcm = new FcmSimulator();
    await fcm.start();
    const account = createServiceAccount('edgehub-console', fcm.tokenUrl);
    fcm.addServiceAccount(account);
    const keyFile = join(dir, 'service-account.json');
    await writeFile(keyFile, account.json, { mode: 0o600 });
    Object.assign(process.env, { HUB_FCM_SERVICE_ACCOUNT_FILE: keyFile, HUB_FCM_URL: fcm.url, HUB_FCM_TOKEN_URL: fcm.tokenUrl });
    h = await startHub();
    bearer = await clientCredentialsToken(h.baseUrl, h.adminCreds);
    phone = new AndroidAgent({ baseUrl: h.baseUrl, oauthToken: bearer, fcm });
    await phone.enroll();
    const d = await dm('GET', `/api/device-mgt/v1.0/devices/android/${phone.deviceIdentifier}`);
    phoneName = String(d.body['name']);
    b = await launchConsoleBrowser();
    const { page } = b;
    await page.goto(`${h.baseUrl}/console/`);
    await page.getByLabel('Access key').fill(h.adminCreds.accessKey);
    await page.getByLabel('Secret').fill(h.adminCreds.accessSecret);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Operations' }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await h?.close();
    await fcm?.stop();
    for (const k of ['HUB_FCM_SERVICE_ACCOUNT_FILE', 'HUB_FCM_URL', 'HUB_FCM_TOKEN_URL']) delete process.env[k];
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates a group, renames it, and adds the Android phone to it', async () => {
    const { page } = b;
    await nav(page, 'Groups');
    const create = page.getByRole('form', { name: 'New group' });
    await create.getByLabel('Group name').fill('Field phones');
    await create.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('status').filter({ hasText: 'Created group Field phones' }).waitFor();
    await page.getByRole('link', { name: 'Field phones' }).click();
    const edit = page.getByRole('form', { name: 'Edit group' });
    await edit.getByLabel('Group name').fill('Field crew');
    await edit.getByLabel('Description').fill('Phones of the maintenance crew');
    await edit.getByRole('button', { name: 'Save group' }).click();
    await page.getByRole('status').filter({ hasText: 'Group saved' }).waitFor();
    await page.getByRole('link', { name: 'Field crew' }).waitFor();
    const add = page.getByRole('form', { name: 'Add a device to the group' });
    await add.getByLabel('Device to add').selectOption(`android/${phone.deviceIdentifier}`);
    await add.getByRole('button', { name: 'Add to group' }).click();
    await page.getByRole('button', { name: `Remove ${phoneName} from the group` }).waitFor();
    const groups = (await dm('GET', '/api/device-mgt/v1.0/groups')).body['deviceGroups'] as Json[];
    expect(groups.map((g) => [g['name'], g['description']])).toEqual([['Field crew', 'Phones of the maintenance crew']]);
    groupId = String(groups[0]!['id']);
    const members = (await dm('GET', `/api/device-mgt/v1.0/devices?groupId=${groupId}`)).body['devices'] as Json[];
    expect(members.map((m) => m['id'])).toEqual([phone.deviceIdentifier]);
    await b.screenshot('console-mdm-01-groups');
  });

  it('locks, asks for information and wipes the Android phone after confirmation; each ends COMPLETED in the console', async () => {
    const { page } = b;
    await nav(page, 'Device management');
    const ops = page.getByRole('region', { name: `Operations of ${phoneName}` });
    for (const [action, code] of [
      ['Lock', 'DEVICE_LOCK'],
      ['Info', 'DEVICE_INFO'],
      ['Wipe', 'WIPE_DATA'],
    ] as const) {
      await page.getByRole('button', { name: `${action} ${phoneName}`, exact: true }).click();
      const dialog = page.getByRole('dialog', { name: `${action} ${phoneName}?` });
      if (action === 'Wipe') {
        // Cancel first: nothing is sent.
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await dialog.waitFor({ state: 'hidden' });
        expect(phone.wiped).toBe(false);
        await page.getByRole('button', { name: `${action} ${phoneName}`, exact: true }).click();
      }
      await dialog.getByRole('button', { name: action, exact: true }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `${action} sent to ${phoneName}` })
        .waitFor();
      await ops.getByRole('row').filter({ hasText: code }).getByTestId('operation-status').filter({ hasText: 'COMPLETED' }).waitFor();
    }
    expect(phone.locked).toBe(true);
    expect(phone.wiped).toBe(true);
    const listed = (await dm('GET', `/api/device-mgt/v1.0/devices/android/${phone.deviceIdentifier}/operations`)).body[
      'operations'
    ] as Json[];
    expect(listed.filter((o) => ['DEVICE_LOCK', 'DEVICE_INFO', 'WIPE_DATA'].includes(String(o['code']))).map((o) => o['status'])).toEqual([
      'COMPLETED',
      'COMPLETED',
      'COMPLETED',
    ]);
    await b.screenshot('console-mdm-02-lock-info-wipe');
  });

  it('creates a passcode policy for the group, applies it, edits it, and shows the phone’s compliance', async () => {
    const { page } = b;
    await nav(page, 'Policies');
    const form = page.getByRole('form', { name: 'New policy' });
    await form.getByLabel('Policy name').fill('Passcode');
    await form.getByLabel('Device type').selectOption('android');
    await form.getByRole('checkbox', { name: 'Group Field crew' }).check();
    await form.getByRole('button', { name: 'Add feature' }).click();
    await form.getByLabel('Feature 1', { exact: true }).selectOption('PASSCODE_POLICY');
    const settings = form.getByLabel('Settings of feature 1 (JSON object)');
    await settings.fill('{"minLength": ');
    await form.getByText('Settings: not JSON').waitFor();
    expect(await form.getByRole('button', { name: 'Create policy' }).isDisabled()).toBe(true);
    await settings.fill('{"minLength": 6}');
    await form.getByRole('button', { name: 'Create policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Created policy Passcode' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'Passcode' });
    await row.getByRole('button', { name: 'Activate Passcode' }).click();
    await row.getByTestId('policy-state').filter({ hasText: 'active' }).waitFor();
    await page.getByRole('button', { name: 'Apply changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Changes applied' }).waitFor();
    await row.getByTestId('policy-state').filter({ hasText: 'applied (version 1)' }).waitFor();
    // The phone receives the bundle (FCM wakes it) and holds the policy.
    const complianceData = () => dm('GET', `/api/device-mgt/v1.0/devices/android/${phone.deviceIdentifier}/compliance-data`);
    await expect.poll(async () => (await complianceData()).status).toBe(200);
    await expect.poll(() => phone.policy.get('PASSCODE_POLICY')).toMatchObject({ minLength: 6 });
    const compliance = await complianceData();
    const status = String(compliance.body['status']);
    const section = page.getByRole('region', { name: 'Compliance' });
    await section.getByLabel('Compliance status').selectOption(status);
    await section.getByRole('button', { name: phone.deviceIdentifier }).click();
    await section.getByRole('heading', { name: `Compliance of ${phone.deviceIdentifier}: ${status}` }).waitFor();

    await row.getByRole('link', { name: 'Passcode' }).click();
    const edit = page.getByRole('form', { name: 'Edit policy' });
    expect(await edit.getByLabel('Settings of feature 1 (JSON object)').inputValue()).toBe('{"minLength":6}');
    await edit.getByLabel('Compliance mode').selectOption('MONITOR');
    await edit.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved policy Passcode' }).waitFor();
    await row.getByTestId('policy-state').filter({ hasText: 'changes not applied' }).waitFor();
    const policies = (await dm('GET', '/api/device-mgt/v1.0/policies')).body['policies'] as Json[];
    expect(policies.map((p) => [p['policyName'], p['compliance'], p['deviceGroups']])).toEqual([['Passcode', 'MONITOR', [groupId]]]);
    await b.screenshot('console-mdm-03-policies');
  });

  it('publishes an app through its life cycle, installs it on the group now, and schedules (then cancels) a later install', async () => {
    const { page } = b;
    await nav(page, 'App publisher');
    const create = page.getByRole('form', { name: 'New app' });
    await create.getByLabel('App name').fill('Field tool');
    await create.getByRole('button', { name: 'Create app' }).click();
    await page.getByRole('status').filter({ hasText: 'Created app Field tool' }).waitFor();
    await page.getByRole('link', { name: 'Field tool' }).click();
    const release = page.getByRole('form', { name: 'New release' });
    await release.getByLabel('Platform').selectOption('android');
    await release.getByLabel('Package name').fill('com.example.fieldtool');
    await release.getByLabel('Version').fill('1.0.0');
    await release.getByRole('button', { name: 'Add release' }).click();
    const card = page.getByRole('region', { name: 'Release android 1.0.0' });
    await card.getByLabel('Artifact file (.apk or .ipa)').setInputFiles({
      name: 'fieldtool.apk',
      mimeType: 'application/vnd.android.package-archive',
      buffer: Buffer.from('PK\u0003\u0004 a tiny test package'),
    });
    await card.getByRole('button', { name: 'Upload' }).click();
    await card.getByTestId('release-artifact').filter({ hasText: 'fieldtool.apk' }).waitFor();
    for (const [move, state] of [
      ['Send to review', 'IN-REVIEW'],
      ['Approve', 'APPROVED'],
      ['Publish', 'PUBLISHED'],
    ] as const) {
      await card.getByRole('button', { name: move, exact: true }).click();
      await card.getByTestId('release-state').filter({ hasText: state }).waitFor();
    }
    await b.screenshot('console-mdm-04-publisher');

    await nav(page, 'App store');
    const install = page.getByRole('form', { name: 'Install Field tool android 1.0.0' });
    await install.getByLabel('Target').selectOption('group');
    await install.getByLabel('Group', { exact: true }).selectOption({ label: 'Field crew' });
    await install.getByRole('button', { name: 'Send now' }).click();
    await page.getByRole('status').filter({ hasText: 'install of Field tool android 1.0.0 sent' }).waitFor();
    const results = page.getByRole('region', { name: 'Devices of Field tool android 1.0.0' });
    await expect
      .poll(async () => {
        await results.getByRole('button', { name: 'Refresh' }).click();
        return results.getByTestId('device-app-status').allTextContents();
      })
      .toEqual(['INSTALLED']);

    const later = new Date(Date.now() + 3 * 3600_000);
    const local = new Date(later.getTime() - later.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await install.getByLabel('Scheduled for (empty: now)').fill(local);
    await install.getByRole('button', { name: 'Schedule' }).click();
    await page.getByRole('status').filter({ hasText: 'Scheduled install of Field tool android 1.0.0' }).waitFor();
    const scheduled = page.getByRole('row').filter({ has: page.getByRole('button', { name: /Cancel the scheduled install/ }) });
    await scheduled.getByTestId('subscription-state').filter({ hasText: 'SCHEDULED' }).waitFor();
    await b.screenshot('console-mdm-05-store');
    await scheduled.getByRole('button', { name: /Cancel the scheduled install/ }).click();
    const subs = async () =>
      ((await dm('GET', '/api/application-mgt-store/v1.0/subscriptions')).body['subscriptions'] as Json[]).map((s) => s['state']);
    await expect.poll(subs).toContain('CANCELLED');
    expect((await subs()).filter((s) => s === 'SCHEDULED')).toEqual([]);
  });

  it('has no serious or critical accessibility violations on the device-management pages', async () => {
    const { page } = b;
    const found: Record<string, string[]> = {};
    for (const p of ['device-management', 'groups', `groups/${groupId}`, 'policies', 'app-publisher', 'app-store']) {
      await page.goto(`${h.baseUrl}/console/#/${p}`);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
      const v = await seriousA11yViolations(page);
      if (v.length) found[p] = v.map((x) => `${x.id} (${x.impact}): ${x.help} ${JSON.stringify(x.nodes.slice(0, 3).map((n) => n.target))}`);
    }
    expect(found).toEqual({});
  });

  it('is usable at tablet width (768 px) on the device-management pages: no sideways scroll, navigation on screen, axe clean', async () => {
    const { page } = b;
    await page.setViewportSize(TABLET);
    try {
      const found: Record<string, string[]> = {};
      for (const p of ['device-management', `groups/${groupId}`, 'policies', 'app-publisher', 'app-store']) {
        await page.goto(`${h.baseUrl}/console/#/${p}`);
        await page.locator('main h1').waitFor();
        await page.waitForLoadState('networkidle').catch(() => undefined);
        const problems = await layoutProblems(page);
        if (problems.length) found[p] = problems;
      }
      expect(found).toEqual({});
      await page.goto(`${h.baseUrl}/console/#/policies`);
      await page.locator('main h1').waitFor();
      await b.screenshot('console-mdm-06-tablet-policies');
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });
});

async function nav(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
}
