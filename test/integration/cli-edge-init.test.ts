import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config/load.js';
import { cliRunner, provision, startHub, type CliRun, type ProvisionedDevice, type RunningHub } from '../src/index.js';

/** `edge init` writes a config the edge's own loader accepts, filled from the hub's records. */
describe('edgehub CLI: edge init', () => {
  let h: RunningHub;
  let dir: string;
  let cli: (args: string[]) => Promise<CliRun>;
  let gw: ProvisionedDevice;
  let subs: ProvisionedDevice[];

  beforeAll(async () => {
    h = await startHub();
    dir = await mkdtemp(join(tmpdir(), 'edgehub-cli-edge-'));
    cli = cliRunner(join(dir, 'credentials.json')).run;
    const login = await cli(['login', '--url', h.baseUrl, '--from-credentials', h.hub.credentialsPath]);
    expect(login.code, login.stderr).toBe(0);
    gw = (await provision(h.admin, h.adminCreds.orgId, { productType: 'Gateway', deviceKeys: ['site-gw'] })).devices[0]!;
    subs = (await provision(h.admin, h.adminCreds.orgId, { productType: 'Device', deviceKeys: ['meter-a', 'meter-b'] })).devices;
    const add = await cli(['topology', 'add', '--gateway', gw.assetId, ...subs.map((d) => `${d.productKey}/${d.deviceKey}`)]);
    expect(add.code, add.stderr).toBe(0);
  });

  afterAll(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a commented config with the gateway's identity that the edge loads, secrets in 0600 files", { timeout: 60_000 }, async () => {
    const out = join(dir, 'site.json');
    const r = await cli(['--json', 'edge', 'init', '--gateway', `${gw.productKey}/${gw.deviceKey}`, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const text = await readFile(out, 'utf8');
    expect(text).toMatch(/^\/\/ Edge config for gateway/);
    expect(text).toContain('meter-a');
    expect(text).not.toContain(gw.secret);
    expect(text).not.toContain(h.adminCreds.accessSecret);

    const config = await loadEdgeConfig(out);
    expect(config.hub.url).toBe(h.baseUrl);
    expect(config.identity).toEqual({
      orgId: h.adminCreds.orgId,
      serviceAccount: { accessKey: h.adminCreds.accessKey, accessSecret: h.adminCreds.accessSecret },
      gateway: { productKey: gw.productKey, deviceKey: gw.deviceKey, deviceSecret: gw.secret },
      subDeviceProductKey: subs[0]!.productKey,
    });
    expect(config.registration).toBe('static');
    for (const f of (JSON.parse(r.stdout) as { secretFiles: string[] }).secretFiles) expect((await stat(f)).mode & 0o777).toBe(0o600);

    const again = await cli(['edge', 'init', '--gateway', gw.assetId, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
  });

  it('refuses a device that is not a gateway', async () => {
    const r = await cli(['edge', 'init', '--gateway', subs[0]!.assetId, '--out', join(dir, 'nope.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a gateway');
  });
});
