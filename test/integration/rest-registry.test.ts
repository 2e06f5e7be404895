import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { i18n, newTenant, startHub, type RunningHub } from '../src/index.js';
import type { ApiClient } from '@edgehub/hub';

type Device = {
  assetId: string;
  deviceKey: string;
  productKey: string;
  status: string;
  deviceTags: Record<string, string>;
  deviceAttributes: Record<string, unknown>;
  gatewayAssetId: string | null;
};

describe('Connection Service: products, devices and topology', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let pk: string;
  let gwPk: string;

  beforeAll(async () => {
    h = await startHub();
    const t = await newTenant(h, 'energy');
    c = t.client;
    orgId = t.orgId;
    const p = await c.connect<string>(
      orgId,
      'POST',
      'products',
      'create',
      {},
      {
        productName: { defaultValue: 'Inverter', i18nValue: { zh_CN: '逆变器' } },
        productType: 'Device',
        dataFormat: 'Json',
        biDirectionalAuth: false,
        productTags: { vendor: 'acme' },
        thingModel: {
          measurepoints: { power: { dataType: 'DOUBLE', unit: 'kW', hasQuality: true } },
          attributes: { ratedPower: { dataType: 'INT' }, site: { dataType: 'STRING', maxLength: 32 } },
          services: { reboot: { inputData: {}, outputData: {} } },
        },
      },
    );
    expect(p.code).toBe(0);
    pk = p.data;
    gwPk = (
      await c.connect<string>(
        orgId,
        'POST',
        'products',
        'create',
        {},
        { productName: i18n('Edge'), productType: 'Gateway', dataFormat: 'Json', biDirectionalAuth: false },
      )
    ).data;
  });
  afterAll(async () => {
    await h.close();
  });

  it('gets, updates and searches products; refuses deleting one that has devices', async () => {
    const got = await c.connect<{
      productKey: string;
      productSecret: string;
      productType: string;
      defaultValidDay: number;
      maxValidDay: number;
      thingModel: { measurepoints: Record<string, unknown> };
    }>(orgId, 'GET', 'products', 'get', { productKey: pk });
    expect(got.data).toMatchObject({ productKey: pk, productType: 'Device', defaultValidDay: 730 });
    expect(got.data.productSecret).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(Object.keys(got.data.thingModel.measurepoints)).toEqual(['power']);

    expect(
      (
        await c.connect(
          orgId,
          'POST',
          'products',
          'update',
          { productKey: pk },
          { productDesc: 'string inverter', dynamicActivateEnabled: true },
        )
      ).code,
    ).toBe(0);
    const after = await c.connect<{ productDesc: string; dynamicActivateEnabled: boolean; productType: string }>(
      orgId,
      'GET',
      'products',
      'get',
      { productKey: pk },
    );
    expect(after.data).toMatchObject({ productDesc: 'string inverter', dynamicActivateEnabled: true, productType: 'Device' });
    // productType cannot change after creation: an unknown field for update.
    expect((await c.connect(orgId, 'POST', 'products', 'update', { productKey: pk }, { productType: 'Gateway' })).code).toBe(99400);
    // defaultValidDay may not exceed maxValidDay
    expect(
      (await c.connect(orgId, 'POST', 'products', 'update', { productKey: pk }, { defaultValidDay: 400, maxValidDay: 300 })).code,
    ).toBe(99400);

    const gateways = await c.connect<{ productKey: string }[]>(
      orgId,
      'POST',
      'products',
      'search',
      {},
      { expression: "productType = 'Gateway'" },
    );
    expect(gateways.data.map((p) => p.productKey)).toEqual([gwPk]);
    const byTag = await c.connect<{ productKey: string }[]>(
      orgId,
      'POST',
      'products',
      'search',
      {},
      { expression: "productTags.vendor = 'acme' and productName like 'Inv%'" },
    );
    expect(byTag.data.map((p) => p.productKey)).toEqual([pk]);

    await c.connect(
      orgId,
      'POST',
      'devices',
      'create',
      {},
      { productKey: pk, deviceKey: 'keeps-product', timezone: '+08:00', deviceName: i18n('x') },
    );
    expect((await c.connect(orgId, 'POST', 'products', 'delete', { productKey: pk })).code).toBe(11612);
    const empty = (
      await c.connect<string>(
        orgId,
        'POST',
        'products',
        'create',
        {},
        { productName: i18n('tmp'), productType: 'Device', dataFormat: 'Custom', biDirectionalAuth: true },
      )
    ).data;
    expect((await c.connect(orgId, 'POST', 'products', 'delete', { productKey: empty })).code).toBe(0);
    expect((await c.connect(orgId, 'GET', 'products', 'get', { productKey: empty })).code).toBe(11611);
  });

  it('validates device attributes against the thing model', async () => {
    const ok = await c.connect(
      orgId,
      'POST',
      'devices',
      'create',
      {},
      { productKey: pk, timezone: 'Asia/Shanghai', deviceName: i18n('a'), deviceAttributes: { ratedPower: 5000, site: 'north' } },
    );
    expect(ok.code).toBe(0);
    const unknown = await c.connect(
      orgId,
      'POST',
      'devices',
      'create',
      {},
      { productKey: pk, timezone: '+08:00', deviceName: i18n('a'), deviceAttributes: { colour: 'red' } },
    );
    expect(unknown.code).toBe(99400);
    expect(unknown.msg).toContain('colour');
    const wrongType = await c.connect(
      orgId,
      'POST',
      'devices',
      'create',
      {},
      { productKey: pk, timezone: '+08:00', deviceName: i18n('a'), deviceAttributes: { ratedPower: 'lots' } },
    );
    expect(wrongType.code).toBe(99400);
    expect(wrongType.msg).toContain('ratedPower');
  });

  it('batch-creates devices item by item and pages through a status-filtered search', async () => {
    const deviceList = Array.from({ length: 250 }, (_, i) => ({
      productKey: pk,
      deviceKey: `inv-${String(i).padStart(3, '0')}`,
      timezone: '+08:00',
      deviceName: i18n(`Inverter ${i}`),
      deviceTags: { row: String(i % 5) },
    }));
    deviceList.push({
      productKey: pk,
      deviceKey: 'inv-000',
      timezone: '+08:00',
      deviceName: i18n('duplicate in request'),
      deviceTags: { row: '0' },
    });
    deviceList.push({
      productKey: 'nope1234',
      deviceKey: 'orphan',
      timezone: '+08:00',
      deviceName: i18n('bad product'),
      deviceTags: { row: '0' },
    });
    const r = await c.connect<{ code: number; msg: string; data: { deviceKey: string; deviceSecret: string } | null }[]>(
      orgId,
      'POST',
      'devices',
      'batchCreate',
      {},
      { deviceList },
    );
    expect(r.code).toBe(0);
    expect(r.totalSize).toBe(252);
    expect(r.successSize).toBe(250);
    expect(r.data[0]).toMatchObject({ code: 0, data: { deviceKey: 'inv-000' } });
    expect(r.data[250]!.code).toBe(11702);
    expect(r.data[251]!.code).toBe(11611);

    // disable a few, then filter by status and page through at most 200 per page
    for (const dk of ['inv-001', 'inv-002', 'inv-003'])
      expect((await c.connect(orgId, 'POST', 'devices', 'disable', { productKey: pk, deviceKey: dk })).code).toBe(0);
    const disabled = await c.connect<Device[]>(
      orgId,
      'POST',
      'devices',
      'search',
      {},
      { expression: "status = 'disable'", pagination: { pageNo: 1, pageSize: 10 } },
    );
    expect(disabled.data.map((d) => d.deviceKey).sort()).toEqual(['inv-001', 'inv-002', 'inv-003']);
    const seen = new Set<string>();
    for (let pageNo = 1; ; pageNo++) {
      const page = await c.connect<Device[]>(
        orgId,
        'POST',
        'devices',
        'search',
        {},
        { expression: `productKey = '${pk}' and status = 'inactive' and deviceKey like 'inv-%'`, pagination: { pageNo, pageSize: 200 } },
      );
      expect(page.code).toBe(0);
      expect(page.pagination?.totalSize).toBe(247);
      for (const d of page.data) seen.add(d.deviceKey);
      if (page.data.length < 200) break;
    }
    expect(seen.size).toBe(247);
    expect((await c.connect(orgId, 'POST', 'devices', 'search', {}, { pagination: { pageNo: 1, pageSize: 201 } })).code).toBe(99400);
    const tagged = await c.connect<Device[]>(
      orgId,
      'POST',
      'devices',
      'search',
      {},
      { expression: "deviceTags.row in ('1', '2')", pagination: { pageSize: 1 } },
    );
    expect(tagged.pagination?.totalSize).toBe(100);
    const sorted = await c.connect<Device[]>(
      orgId,
      'POST',
      'devices',
      'search',
      {},
      {
        expression: "deviceKey like 'inv-%'",
        pagination: { pageSize: 3, sorters: [{ field: 'deviceKey', order: 'DESC' }] },
        projection: ['deviceKey'],
      },
    );
    expect(sorted.data).toEqual([{ deviceKey: 'inv-249' }, { deviceKey: 'inv-248' }, { deviceKey: 'inv-247' }]);

    // enable brings a never-connected device back to inactive
    expect((await c.connect(orgId, 'POST', 'devices', 'enable', { productKey: pk, deviceKey: 'inv-001' })).code).toBe(0);
    expect((await c.connect<Device>(orgId, 'GET', 'devices', 'get', { productKey: pk, deviceKey: 'inv-001' })).data.status).toBe(
      'inactive',
    );
  });

  it('updates tags and attributes by patch or replacement, deletes devices', async () => {
    const d = (
      await c.connect<{ assetId: string }>(
        orgId,
        'POST',
        'devices',
        'create',
        {},
        { productKey: pk, timezone: '+08:00', deviceName: i18n('u'), deviceTags: { a: '1', b: '2' }, deviceAttributes: { site: 's1' } },
      )
    ).data;
    expect(
      (
        await c.connect(
          orgId,
          'POST',
          'devices',
          'update',
          { assetId: d.assetId },
          { device: { deviceTags: { b: '3', c: '4' }, deviceAttributes: { ratedPower: 10 } } },
        )
      ).code,
    ).toBe(0);
    let got = (await c.connect<Device>(orgId, 'GET', 'devices', 'get', { assetId: d.assetId })).data;
    expect(got.deviceTags).toEqual({ a: '1', b: '3', c: '4' });
    expect(got.deviceAttributes).toEqual({ site: 's1', ratedPower: 10 });
    expect(
      (
        await c.connect(
          orgId,
          'POST',
          'devices',
          'update',
          { assetId: d.assetId },
          { isPatchUpdate: false, device: { deviceTags: { z: '9' } } },
        )
      ).code,
    ).toBe(0);
    got = (await c.connect<Device>(orgId, 'GET', 'devices', 'get', { assetId: d.assetId })).data;
    expect(got.deviceTags).toEqual({ z: '9' });
    expect((await c.connect(orgId, 'POST', 'devices', 'delete', { assetId: d.assetId })).code).toBe(0);
    expect((await c.connect(orgId, 'GET', 'devices', 'get', { assetId: d.assetId })).code).toBe(11404);
    expect((await c.connect(orgId, 'POST', 'devices', 'delete', { assetId: d.assetId })).code).toBe(11404);
  });

  it('keeps a sub-device under at most one gateway', async () => {
    const mk = async (productKey: string, deviceKey: string) =>
      (
        await c.connect<{ assetId: string }>(
          orgId,
          'POST',
          'devices',
          'create',
          {},
          { productKey, deviceKey, timezone: '+08:00', deviceName: i18n(deviceKey) },
        )
      ).data.assetId;
    const gw1 = await mk(gwPk, 'gw-1');
    const gw2 = await mk(gwPk, 'gw-2');
    const s1 = await mk(pk, 'sub-1');
    const s2 = await mk(pk, 'sub-2');
    expect(
      (
        await c.connect(
          orgId,
          'POST',
          'device-topos',
          'addSubDevice',
          {},
          { gateway: { assetId: gw1 }, subDevices: [{ assetId: s1 }, { productKey: pk, deviceKey: 'sub-2' }] },
        )
      ).code,
    ).toBe(0);
    // adding again to the same gateway is harmless; to another gateway is refused
    expect(
      (await c.connect(orgId, 'POST', 'device-topos', 'addSubDevice', {}, { gateway: { assetId: gw1 }, subDevices: [{ assetId: s1 }] }))
        .code,
    ).toBe(0);
    const clash = await c.connect(
      orgId,
      'POST',
      'device-topos',
      'addSubDevice',
      {},
      { gateway: { assetId: gw2 }, subDevices: [{ assetId: s2 }] },
    );
    expect(clash).toMatchObject({ status: 409, code: 11740 });
    // a device that is not a gateway cannot hold sub-devices
    expect(
      (await c.connect(orgId, 'POST', 'device-topos', 'addSubDevice', {}, { gateway: { assetId: s1 }, subDevices: [{ assetId: s2 }] }))
        .code,
    ).toBe(11738);
    // a gateway cannot be a sub-device
    expect(
      (await c.connect(orgId, 'POST', 'device-topos', 'addSubDevice', {}, { gateway: { assetId: gw1 }, subDevices: [{ assetId: gw2 }] }))
        .code,
    ).toBe(99400);

    const subs = await c.connect<Device[]>(
      orgId,
      'POST',
      'device-topos',
      'searchSubDevice',
      {},
      { gateway: { productKey: gwPk, deviceKey: 'gw-1' } },
    );
    expect(subs.data.map((d) => d.deviceKey).sort()).toEqual(['sub-1', 'sub-2']);
    const gw = await c.connect<{ assetId: string } | null>(orgId, 'POST', 'device-topos', 'getGateway', {}, { subDevice: { assetId: s2 } });
    expect(gw.data?.assetId).toBe(gw1);

    expect(
      (await c.connect(orgId, 'POST', 'device-topos', 'removeSubDevice', {}, { gateway: { assetId: gw1 }, subDevices: [{ assetId: s2 }] }))
        .code,
    ).toBe(0);
    expect((await c.connect(orgId, 'POST', 'device-topos', 'getGateway', {}, { subDevice: { assetId: s2 } })).data).toBeNull();
    expect(
      (await c.connect(orgId, 'POST', 'device-topos', 'addSubDevice', {}, { gateway: { assetId: gw2 }, subDevices: [{ assetId: s2 }] }))
        .code,
    ).toBe(0);

    // deleting a gateway frees its sub-devices
    expect((await c.connect(orgId, 'POST', 'devices', 'delete', { assetId: gw1 })).code).toBe(0);
    expect((await c.connect(orgId, 'POST', 'device-topos', 'getGateway', {}, { subDevice: { assetId: s1 } })).data).toBeNull();
  });

  it('never shows one org the devices of another', async () => {
    const other = await newTenant(h, 'other');
    const mine = (
      await c.connect<{ assetId: string }>(
        orgId,
        'POST',
        'devices',
        'create',
        {},
        { productKey: pk, timezone: '+08:00', deviceName: i18n('private') },
      )
    ).data;
    expect((await other.client.connect(other.orgId, 'GET', 'devices', 'get', { assetId: mine.assetId })).code).toBe(11404);
    expect((await other.client.connect(other.orgId, 'POST', 'devices', 'disable', { assetId: mine.assetId })).code).toBe(11404);
    const all = await other.client.connect<Device[]>(other.orgId, 'POST', 'devices', 'search', {}, {});
    expect(all.pagination?.totalSize).toBe(0);
    expect((await c.connect<Device>(orgId, 'GET', 'devices', 'get', { assetId: mine.assetId })).data.status).toBe('inactive');
  });
});
