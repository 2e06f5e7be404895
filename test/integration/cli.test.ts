import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../hub/src/cli/csv.js';
import { i18n, startHub, type RunningHub } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The org engineers' CLI run as they run it: a real child process against a real hub, with its
 * profile in a temp dir. Each run costs a tsx start (~0.7 s), so independent runs go in parallel.
 */
describe('edgehub CLI', () => {
  let h: RunningHub;
  let dir: string;
  /** The profile every test but the login test uses, made by a real `login` in beforeAll. */
  let configPath: string;

  async function cli(args: string[], stdin?: string, config = configPath): Promise<CliRun> {
    const env: NodeJS.ProcessEnv = { ...process.env, EDGEHUB_CONFIG: config, NO_COLOR: '1' };
    delete env['EDGEHUB_PROFILE'];
    const child = spawn(process.execPath, ['--import', 'tsx', 'hub/src/cli/main.ts', ...args], {
      cwd: ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.end(stdin ?? '');
    const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
    // Whatever the command, the service-account secret never reaches the terminal.
    expect(stdout + stderr).not.toContain(h.adminCreds.accessSecret);
    return { code, stdout, stderr };
  }

  const connect = <T>(method: 'GET' | 'POST', resource: string, action: string, query: Record<string, string> = {}, body?: unknown) =>
    h.admin.connect<T>(h.adminCreds.orgId, method, resource, action, query, body);

  /** A product of the admin's org, made over REST: tests that are not about creating one start from it. */
  const newProduct = async (name: string) =>
    (
      await connect<string>(
        'POST',
        'products',
        'create',
        {},
        { productName: i18n(name), productType: 'Device', dataFormat: 'Json', biDirectionalAuth: false },
      )
    ).data;

  beforeAll(async () => {
    h = await startHub();
    dir = await mkdtemp(join(tmpdir(), 'edgehub-cli-'));
    configPath = join(dir, 'shared-profile', 'credentials.json');
    const login = await cli(['login', '--url', h.baseUrl, '--from-credentials', h.hub.credentialsPath]);
    expect(login.code, login.stderr).toBe(0);
  });
  afterAll(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs in from the bootstrap admin credentials and stores the profile 0600, refusing secrets on the command line', async () => {
    const wrongSecret = join(dir, 'wrong-secret');
    await writeFile(wrongSecret, 'not-the-secret\n', { mode: 0o600 });
    const configPath = join(dir, 'config', 'credentials.json'); // the config dir does not exist yet
    const [login, wrong, inArgv] = await Promise.all([
      cli(['login', '--url', h.baseUrl, '--from-credentials', h.hub.credentialsPath], undefined, configPath),
      cli(
        [
          'login',
          '--profile',
          'other',
          '--url',
          h.baseUrl,
          '--org',
          h.adminCreds.orgId,
          '--access-key',
          h.adminCreds.accessKey,
          '--secret-file',
          wrongSecret,
        ],
        undefined,
        configPath,
      ),
      cli(
        ['login', '--url', h.baseUrl, '--org', h.adminCreds.orgId, '--access-key', h.adminCreds.accessKey, '--secret', 'anything'],
        undefined,
        configPath,
      ),
    ]);

    expect(login).toMatchObject({ code: 0, stderr: '' });
    expect(login.stdout).toContain(h.adminCreds.orgId);
    expect(login.stdout).toContain(h.adminCreds.accessKey);
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'config'))).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(configPath, 'utf8')) as { profiles: Record<string, unknown> };
    expect(Object.keys(saved.profiles)).toEqual(['default']);
    expect(saved.profiles['default']).toEqual({
      url: h.baseUrl,
      orgId: h.adminCreds.orgId,
      accessKey: h.adminCreds.accessKey,
      accessSecret: h.adminCreds.accessSecret,
    });

    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error 1003: /m);
    expect(inArgv.code).toBe(2);
    expect(inArgv.stderr).toMatch(/--secret-file, --secret-stdin or --from-credentials/);
  });

  it('creates a product and a device and reads the device back without its secret', async () => {
    const product = await cli(['product', 'create', '--name', 'Solar inverter', '--type', 'Device', '--tag', 'vendor=acme']);
    expect(product.code).toBe(0);
    const productKey = product.stdout.trim();
    expect(productKey).toMatch(/^[A-Za-z0-9]+$/);

    const created = await cli([
      '--json',
      'device',
      'create',
      '--product',
      productKey,
      '--key',
      'inv-001',
      '--name',
      'Inverter 1',
      '--tag',
      'site=sh',
      '--tag',
      'line=2',
    ]);
    expect(created.code).toBe(0);
    const triple = JSON.parse(created.stdout) as { assetId: string; productKey: string; deviceKey: string; deviceSecret: string };
    expect(triple).toMatchObject({ productKey, deviceKey: 'inv-001' });
    const onHub = await connect<{ deviceSecret: string; deviceTags: object }>('GET', 'devices', 'get', { assetId: triple.assetId });
    expect(onHub.data).toMatchObject({ deviceSecret: triple.deviceSecret, deviceTags: { site: 'sh', line: '2' } });

    const [asJson, asText, missing] = await Promise.all([
      cli(['device', 'get', '--product', productKey, '--key', 'inv-001', '--json']),
      cli(['device', 'get', '--asset-id', triple.assetId]),
      cli(['device', 'get', '--product', productKey, '--key', 'no-such-device']),
    ]);
    expect(asJson.code).toBe(0);
    const device = JSON.parse(asJson.stdout) as Record<string, unknown>;
    expect(device).toMatchObject({
      assetId: triple.assetId,
      deviceKey: 'inv-001',
      status: 'inactive',
      deviceName: { defaultValue: 'Inverter 1' },
    });
    expect(device).not.toHaveProperty('deviceSecret');
    expect(asText.stdout).toMatch(/^deviceKey:\s+inv-001$/m);
    expect(asText.stdout).toMatch(/^deviceSecret:\s+\(hidden/m);
    expect(asText.stdout).not.toContain(triple.deviceSecret);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error 11404: /);
  });

  it('searches devices by status', async () => {
    const productKey = await newProduct('Searched');
    for (const deviceKey of ['inv-001', 'inv-002']) {
      expect(
        (await connect('POST', 'devices', 'create', {}, { productKey, deviceKey, deviceName: i18n(deviceKey), timezone: '+08:00' })).code,
      ).toBe(0);
    }
    const disable = await cli(['device', 'disable', '--product', productKey, '--key', 'inv-001']);
    expect(disable).toMatchObject({ code: 0, stdout: `disabled ${productKey}/inv-001\n` });

    const [disabled, inactive] = await Promise.all([
      cli(['device', 'search', '--product', productKey, '--status', 'disabled', '--json']),
      cli(['device', 'search', '--product', productKey, '--status', 'inactive']),
    ]);
    const found = JSON.parse(disabled.stdout) as { items: { deviceKey: string; status: string }[]; pagination: { totalSize: number } };
    expect(found.items.map((d) => [d.deviceKey, d.status])).toEqual([['inv-001', 'disabled']]);
    expect(found.pagination.totalSize).toBe(1);

    const [header, ...lines] = inactive.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ASSET ID\s+PRODUCT KEY\s+DEVICE KEY\s+STATUS/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`\\s${productKey}\\s+inv-002\\s+inactive\\s`));
    expect(inactive.stderr).toContain('1 of 1 devices');
  });

  it('imports 250 devices from a CSV in batches, reports the bad rows by line and saves the triples 0600', async () => {
    const pk = await newProduct('Import target');
    expect(
      (
        await connect(
          'POST',
          'devices',
          'create',
          {},
          { productKey: pk, deviceKey: 'imp-dup', deviceName: i18n('already here'), timezone: '+08:00' },
        )
      ).code,
    ).toBe(0);

    // A spreadsheet export: BOM, CRLF, quoted names with commas and quotes, one with a line break.
    const lineOf = new Map<number, number>();
    const names = new Map<number, string>();
    let line = 1;
    let text = '\uFEFFdeviceKey,deviceName,timezone,tag:site,deviceDesc\r\n';
    for (let i = 1; i <= 250; i++) {
      line++;
      lineOf.set(i, line);
      const key = i === 100 ? 'imp-dup' : i === 200 ? 'imp-010' : `imp-${String(i).padStart(3, '0')}`;
      const name = i === 180 ? '' : i === 5 ? 'Inverter\r\nfive' : i % 10 === 0 ? `Inverter, "north" ${i}` : `Inverter ${i}`;
      names.set(i, name);
      const quoted = /[",\r\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name;
      text += `${key},${quoted},${i % 2 ? '' : 'Asia/Shanghai'},${i % 3 ? 'sh' : ''},row ${i}\r\n`;
      if (i === 5) line++; // the quoted line break
    }
    const csvPath = join(dir, 'devices.csv');
    const outPath = join(dir, 'triples.csv');
    await writeFile(csvPath, text);

    const run = await cli(['device', 'import', '--csv', csvPath, '--product', pk, '--batch-size', '100', '--out', outPath]);

    expect(run.code).toBe(1); // some rows failed
    expect(run.stdout).toBe('created 247 of 250 devices, 3 failed\n');
    expect(run.stderr).toContain(`line ${lineOf.get(100)}: error 11702: `);
    expect(run.stderr).toContain(`line ${lineOf.get(180)}: deviceName is empty`);
    expect(run.stderr).toContain(`line ${lineOf.get(200)}: deviceKey imp-010 repeats line ${lineOf.get(10)}`);
    expect(run.stderr).toMatch(/^processed 250\/250 rows \(created 247, failed 3\)$/m);
    expect(run.stderr).toContain(`${outPath} (mode 0600)`);

    const all = await connect<unknown[]>(
      'POST',
      'devices',
      'search',
      {},
      { expression: `productKey = '${pk}'`, pagination: { pageNo: 1, pageSize: 1 } },
    );
    expect(all.pagination?.totalSize).toBe(248); // 247 imported + imp-dup
    const tagged = await connect<unknown[]>(
      'POST',
      'devices',
      'search',
      {},
      { expression: `productKey = '${pk}' and deviceTags.site = 'sh'`, pagination: { pageNo: 1, pageSize: 1 } },
    );
    expect(tagged.pagination?.totalSize).toBe([...names.keys()].filter((i) => i % 3 !== 0 && ![100, 180, 200].includes(i)).length);
    const ten = await connect<{ deviceName: { defaultValue: string }; timezone: string; deviceDesc: string; deviceSecret: string }>(
      'GET',
      'devices',
      'get',
      { productKey: pk, deviceKey: 'imp-010' },
    );
    expect(ten.data).toMatchObject({
      deviceName: { defaultValue: 'Inverter, "north" 10' },
      timezone: 'Asia/Shanghai',
      deviceDesc: 'row 10',
    });
    const five = await connect<{ deviceName: { defaultValue: string }; timezone: string }>('GET', 'devices', 'get', {
      productKey: pk,
      deviceKey: 'imp-005',
    });
    expect(five.data).toMatchObject({ deviceName: { defaultValue: 'Inverter\r\nfive' }, timezone: '+08:00' });

    expect((await stat(outPath)).mode & 0o777).toBe(0o600);
    const [header, ...rows] = parseCsv(await readFile(outPath, 'utf8'));
    expect(header?.fields).toEqual(['line', 'productKey', 'deviceKey', 'deviceSecret', 'assetId', 'deviceName']);
    expect(rows).toHaveLength(247);
    const tenRow = rows.find((r) => r.fields[2] === 'imp-010');
    expect(tenRow?.fields).toEqual([
      String(lineOf.get(10)),
      pk,
      'imp-010',
      ten.data.deviceSecret,
      expect.any(String),
      'Inverter, "north" 10',
    ]);
  });

  it('imports without --out: prints the summary only and says the secrets were not saved', async () => {
    const productKey = await newProduct('Small import');
    const csvPath = join(dir, 'small.csv');
    await writeFile(csvPath, `productKey,deviceName\n${productKey},Small 1\n${productKey},Small 2\n`);
    const run = await cli(['--json', 'device', 'import', '--csv', csvPath]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      total: 2,
      created: 2,
      failed: 0,
      notImported: 0,
      out: null,
      failures: [],
      // No deviceKey column: the hub generated both keys, and the summary says which.
      generated: [
        { line: 2, deviceKey: expect.stringMatching(/^\w{10}$/) },
        { line: 3, deviceKey: expect.stringMatching(/^\w{10}$/) },
      ],
    });
    expect(run.stderr).toMatch(/secrets were not saved/);
    const search = await connect<unknown[]>(
      'POST',
      'devices',
      'search',
      {},
      { expression: `productKey = '${productKey}' and deviceName like 'Small%'` },
    );
    expect(search.pagination?.totalSize).toBe(2);
  });

  it('warns when the triples file, with its secrets, would land inside a git work tree', async () => {
    const repo = join(dir, 'a-checkout');
    await mkdir(repo);
    execFileSync('git', ['init', '-q', repo]);
    const productKey = await newProduct('Work tree import');
    const csvPath = join(dir, 'tree.csv');
    await writeFile(csvPath, `productKey,deviceName\n${productKey},Tree 1\n`);
    const [inside, outside] = await Promise.all([
      cli(['device', 'import', '--csv', csvPath, '--out', join(repo, 'triples.csv')]),
      cli(['device', 'import', '--csv', csvPath, '--out', join(dir, 'outside-triples.csv')]),
    ]);
    expect(inside.code).toBe(0);
    expect(inside.stderr).toContain(`inside the git work tree ${repo}`);
    expect(outside.code).toBe(0);
    expect(outside.stderr).not.toContain('git work tree');
  });
});
