import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRunner, startHub, type CliRun, type RunningHub } from '../src/index.js';

/** Issue 16, "The README and the first hour" item 9: the CLI and API say what they do and do what they say. */
describe('edgehub CLI: consistent arguments and honest answers', () => {
  let h: RunningHub;
  let dir: string;
  let cli: (args: string[]) => Promise<CliRun>;
  let productKey: string;

  beforeAll(async () => {
    h = await startHub();
    dir = await mkdtemp(join(tmpdir(), 'edgehub-cli-consistency-'));
    cli = cliRunner(join(dir, 'credentials.json')).run;
    const login = await cli(['login', '--url', h.baseUrl, '--from-credentials', h.hub.credentialsPath]);
    expect(login.code, login.stderr).toBe(0);
    const created = await cli(['--json', 'product', 'create', '--name', 'meters', '--type', 'Device']);
    expect(created.code, created.stderr).toBe(0);
    productKey = (JSON.parse(created.stdout) as { productKey: string }).productKey;
  });

  afterAll(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a timezone that is not an IANA zone, from the CLI and over REST, and keeps real ones', async () => {
    const [mars, shanghai] = await Promise.all([
      cli(['device', 'create', '--product', productKey, '--key', 'm-mars', '--name', 'x', '--timezone', 'Mars/Olympus']),
      cli(['device', 'create', '--product', productKey, '--key', 'm-sh', '--name', 'x', '--timezone', 'Asia/Shanghai']),
    ]);
    expect(mars.code).toBe(1);
    expect(mars.stderr).toMatch(/^error \d+: Invalid Argument timezone: Mars\/Olympus is neither/m);
    expect(shanghai.code, shanghai.stderr).toBe(0);
    const update = await h.admin.connect(
      h.adminCreds.orgId,
      'POST',
      'devices',
      'update',
      { productKey, deviceKey: 'm-sh' },
      {
        device: { timezone: 'Europe/Atlantis' },
      },
    );
    expect(update.code).not.toBe(0);
    expect(update.msg).toContain('Europe/Atlantis');
  });

  it('says, line by line, which deviceKeys an import generated', async () => {
    const csv = join(dir, 'devices.csv');
    await writeFile(csv, 'deviceKey,deviceName,timezone\nm-given,one,\n,two,\n,three,Mars/Olympus\n');
    const r = await cli(['device', 'import', '--csv', csv, '--product', productKey]);
    expect(r.code).toBe(1); // the Mars row failed
    const generated = /^line 3: no deviceKey given; the hub generated (\S+)$/m.exec(r.stderr);
    expect(generated, r.stderr).not.toBeNull();
    expect(r.stderr).not.toMatch(/^line 2: no deviceKey/m);
    expect(r.stderr).toMatch(/^line 4: timezone 'Mars\/Olympus'/m);
    const get = await cli(['--json', 'device', 'get', `${productKey}/${generated![1]}`]);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ deviceName: { defaultValue: 'two' } });
  });

  it('takes a product and a device the same two ways: as an argument or by options', async () => {
    const [byArg, byOption, deviceByArg, deviceByOptions, twice] = await Promise.all([
      cli(['--json', 'product', 'get', productKey]),
      cli(['--json', 'product', 'get', '--product', productKey]),
      cli(['--json', 'device', 'get', `${productKey}/m-sh`]),
      cli(['--json', 'device', 'get', '--product', productKey, '--key', 'm-sh']),
      cli(['device', 'get', `${productKey}/m-sh`, '--key', 'm-sh']),
    ]);
    for (const r of [byArg, byOption, deviceByArg, deviceByOptions]) expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(byArg.stdout)).toEqual(JSON.parse(byOption.stdout));
    expect(JSON.parse(deviceByArg.stdout)).toEqual(JSON.parse(deviceByOptions.stdout));
    expect(twice.code).toBe(2);
  });

  it('lists devices newest first, as it says', async () => {
    const created = await cli(['--json', 'product', 'create', '--name', 'ordered', '--type', 'Device']);
    const p = { data: (JSON.parse(created.stdout) as { productKey: string }).productKey };
    for (const k of ['o-1', 'o-2', 'o-3']) {
      const r = await cli(['device', 'create', '--product', p.data, '--key', k, '--name', k]);
      expect(r.code, r.stderr).toBe(0);
    }
    const [page, all, help] = await Promise.all([
      cli(['--json', 'device', 'search', '--product', p.data]),
      cli(['--json', 'device', 'search', '--product', p.data, '--all']),
      cli(['device', 'search', '--help']),
    ]);
    const keys = (r: CliRun) => (JSON.parse(r.stdout) as { items: { deviceKey: string }[] }).items.map((d) => d.deviceKey);
    expect(keys(page)).toEqual(['o-3', 'o-2', 'o-1']);
    expect(keys(all)).toEqual(['o-1', 'o-2', 'o-3']);
    expect(help.stdout).toContain('newest first');
  });

  it('accepts queryHistory order in either case', async () => {
    const now = Date.now();
    const r = await h.admin.connect(
      h.adminCreds.orgId,
      'POST',
      'measurepoints',
      'queryHistory',
      { productKey, deviceKey: 'm-sh' },
      {
        measurepoints: ['power'],
        startTime: now - 60_000,
        endTime: now,
        order: 'desc',
      },
    );
    expect(r.code, r.msg).toBe(0);
  });

  it('completes subcommands and options in bash from the command tree (zsh through bashcompinit)', async () => {
    const [bash, zsh] = await Promise.all([cli(['completion', 'bash']), cli(['completion', 'zsh'])]);
    expect(bash.code, bash.stderr).toBe(0);
    const script = join(dir, 'completion.bash');
    await writeFile(script, bash.stdout);
    const complete = async (...words: string[]) => {
      const line = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _edgehub_complete; echo "\${COMPREPLY[*]}"`;
      return (await promisify(execFile)('bash', ['-c', line])).stdout.trim().split(' ');
    };
    expect(await complete('edgehub', 'comm')).toEqual(['command']);
    expect(await complete('edgehub', '--json', 'command', '')).toEqual(expect.arrayContaining(['invoke', 'set', 'get', 'list', 'cancel']));
    expect(await complete('edgehub', 'certificate', 'apply', '--key-')).toEqual(['--key-out', '--key-type']);
    expect(zsh.stdout).toMatch(/^autoload -U \+X bashcompinit && bashcompinit\n/);
  });
});
