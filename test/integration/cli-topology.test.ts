import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, cliRunner, startHub, type ProvisionedDevice, type RunningHub } from '../src/index.js';

/** `topology add|remove|list|gateway` against a real hub. */
describe('edgehub CLI: topology', () => {
  let h: RunningHub;
  let dir: string;
  let gw: ProvisionedDevice;
  let subs: ProvisionedDevice[];

  const cli = (args: string[]) => cliRunner(join(dir, 'credentials.json')).run(args);
  const key = (d: ProvisionedDevice) => `${d.productKey}/${d.deviceKey}`;

  beforeAll(async () => {
    h = await startHub();
    dir = await mkdtemp(join(tmpdir(), 'edgehub-cli-topo-'));
    const login = await cli(['login', '--url', h.baseUrl, '--from-credentials', h.hub.credentialsPath]);
    expect(login.code, login.stderr).toBe(0);
    gw = (await provision(h.admin, h.adminCreds.orgId, { productType: 'Gateway', deviceKeys: ['edge-1'] })).devices[0]!;
    subs = (await provision(h.admin, h.adminCreds.orgId, { productType: 'Device', deviceKeys: ['inv-1', 'inv-2'] })).devices;
  });

  afterAll(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('adds sub-devices by key or assetId, lists them, names their gateway, and removes one', async () => {
    const add = await cli(['topology', 'add', '--gateway', key(gw), key(subs[0]!), subs[1]!.assetId]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain(`added ${key(subs[0]!)}, ${subs[1]!.assetId} to ${key(gw)}`);

    const [list, gatewayOf] = await Promise.all([
      cli(['--json', 'topology', 'list', '--gateway', gw.assetId]),
      cli(['--json', 'topology', 'gateway', key(subs[1]!)]),
    ]);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { items: { deviceKey: string; deviceSecret?: string }[] };
    expect(listed.items.map((d) => d.deviceKey).sort()).toEqual(['inv-1', 'inv-2']);
    expect(listed.items.every((d) => d.deviceSecret === undefined)).toBe(true);
    expect(gatewayOf.code, gatewayOf.stderr).toBe(0);
    expect(JSON.parse(gatewayOf.stdout)).toMatchObject({ assetId: gw.assetId, deviceKey: 'edge-1' });

    const remove = await cli(['topology', 'remove', '--gateway', key(gw), key(subs[0]!)]);
    expect(remove.code, remove.stderr).toBe(0);
    const [after, none] = await Promise.all([
      cli(['--json', 'topology', 'list', '--gateway', key(gw)]),
      cli(['topology', 'gateway', key(subs[0]!)]),
    ]);
    expect((JSON.parse(after.stdout) as { items: { deviceKey: string }[] }).items.map((d) => d.deviceKey)).toEqual(['inv-2']);
    expect(none.stdout).toContain('has no gateway');
  });

  it('refuses a gateway that is not one with the hub error, and a malformed device before calling', async () => {
    const [notGateway, malformed] = await Promise.all([
      cli(['topology', 'add', '--gateway', key(subs[0]!), key(subs[1]!)]),
      cli(['topology', 'list', '--gateway', 'pk/dk/extra']),
    ]);
    expect(notGateway.code).toBe(1);
    expect(notGateway.stderr).toMatch(/^error 11738: /m);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain("productKey/deviceKey or an assetId, got 'pk/dk/extra'");
  });
});
