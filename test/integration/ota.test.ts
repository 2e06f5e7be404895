import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { loadConfig, type ApiClient } from '@edgehub/hub';
import {
  connectDevice,
  newTenant,
  provision,
  startHub,
  type ProvisionedDevice,
  type ProvisionedProduct,
  type RunningHub,
  type TestDevice,
} from '../src/index.js';

type Offer = { version: string; sign: string; signMethod: string; fileUrl: string; fileSize: number };
type Task = { deviceKey: string; status: string; step?: number; failure?: { step: number; reason: string; desc?: string } };
type Job = { jobId: string; status: string; counts: Record<string, number> };

const MAX_FIRMWARE = 256 * 1024;

/**
 * OTA end to end through a real hub with real mqtt.js devices following the topic catalogue
 * (docs/ENOS-PROTOCOL.md §4.1, §4.2): upload, job, upgrade message, ranged download with a real
 * HTTP client, progress, inform, job done; failures −1…−4; a device offline during the job.
 */
describe('OTA firmware upgrades', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let product: ProvisionedProduct;
  const firmware = randomBytes(100_000);
  const online = new Map<string, TestDevice>();

  const dev = (key: string) => product.devices.find((d) => d.deviceKey === key)!;
  const req = (d: TestDevice, kind: 'otaInform' | 'otaProgress' | 'otaGetVersion' | 'otaRequest', method: string, params: unknown) =>
    d.request(topics[kind](d.creds.productKey, d.creds.deviceKey), method, params);
  const upgradeOf = async (d: TestDevice) =>
    (await d.next((t) => t === topics.otaUpgrade(d.creds.productKey, d.creds.deviceKey))).json as {
      id: string;
      method: string;
      params: Offer;
    };
  const connect = async (p: ProvisionedDevice) => {
    const d = await connectDevice(h.mqttUrl, p);
    online.set(p.deviceKey, d);
    return d;
  };
  const upload = (productKey: string, version: string, file: Buffer, extra: Record<string, unknown> = {}) =>
    c.call<{ firmwareId: string; md5: string; sha256: string; fileSize: number }>(
      'POST',
      '/connect-service/v2.1/ota-firmwares',
      { action: 'create', orgId, productKey },
      { version, file: file.toString('base64'), ...extra },
    );
  const createJob = (body: unknown) =>
    c.call<{ jobId: string; targets: number; status: string }>('POST', '/connect-service/v2.1/ota-jobs', { action: 'create', orgId }, body);
  const job = async (jobId: string) => (await c.ok<Job>('GET', '/connect-service/v2.1/ota-jobs', { action: 'get', orgId, jobId })).data;
  const tasks = async (jobId: string) =>
    (await c.ok<Task[]>('GET', '/connect-service/v2.1/ota-jobs', { action: 'listTasks', orgId, jobId })).data;

  beforeAll(async () => {
    h = await startHub({ deviceProtocol: { ...loadConfig({}).deviceProtocol, otaMaxFirmwareBytes: MAX_FIRMWARE } });
    ({ client: c, orgId } = await newTenant(h, 'ota'));
    product = await provision(c, orgId, { productType: 'Device', deviceKeys: ['ok', 'f1', 'f2', 'f3', 'f4', 'late', 'old'] });
    // Every device but "old" runs 1.0.0; "late" reports it, then goes offline before the job.
    for (const p of product.devices) {
      const d = await connect(p);
      expect((await req(d, 'otaInform', 'ota.device.inform', { version: p.deviceKey === 'old' ? '0.9.0' : '1.0.0' })).code).toBe(200);
    }
    await online.get('late')!.end();
    online.delete('late');
  });
  afterAll(async () => {
    await Promise.all([...online.values()].map((d) => d.end()));
    await h?.close();
  });

  let jobId: string;
  let offer: Offer;

  it('uploads a firmware with its digests and refuses a duplicate version and an oversized file', async () => {
    const r = await upload(product.productKey, '2.0.0', firmware);
    expect(r.code).toBe(0);
    expect(r.data).toMatchObject({
      fileSize: firmware.length,
      md5: createHash('md5').update(firmware).digest('hex'),
      sha256: createHash('sha256').update(firmware).digest('hex'),
    });
    expect((await upload(product.productKey, '2.0.0', firmware)).code).toBe(99400);
    expect((await upload(product.productKey, '9.9.9', randomBytes(MAX_FIRMWARE + 1))).code).toBe(99413);
    const started = await createJob({ firmwareId: r.data.firmwareId, filter: { fromVersions: ['1.0.0'] } });
    expect(started.data).toMatchObject({ targets: 6, status: 'running' });
    jobId = started.data.jobId;
  });

  it('tells online devices on ota/device/upgrade with the EnOS fields; the old version is not targeted', async () => {
    const msg = await upgradeOf(online.get('ok')!);
    expect(msg.method).toBe('ota.device.upgrade');
    offer = msg.params;
    expect(offer).toMatchObject({
      version: '2.0.0',
      signMethod: 'md5',
      sign: createHash('md5').update(firmware).digest('hex'),
      fileSize: firmware.length,
    });
    expect((await tasks(jobId)).map((t) => t.deviceKey)).not.toContain('old');
    // The same offer; its download URL is signed again, so its expiry may be a second later.
    const again = (await req(online.get('ok')!, 'otaGetVersion', 'ota.device.getversion', {})).data as Offer[];
    const unsigned = (o: Offer) => {
      const url = new URL(o.fileUrl);
      return { ...o, fileUrl: `${url.origin}${url.pathname}?assetId=${url.searchParams.get('assetId')}` };
    };
    expect(again.map(unsigned)).toEqual([unsigned(offer)]);
  });

  it('serves the firmware in ranges with a real HTTP client, resumable, and refuses a forged URL', async () => {
    const first = await fetch(offer.fileUrl, { headers: { range: 'bytes=0-39999' } });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-39999/${firmware.length}`);
    const rest = await fetch(offer.fileUrl, { headers: { range: 'bytes=40000-' } });
    expect(rest.status).toBe(206);
    const whole = Buffer.concat([Buffer.from(await first.arrayBuffer()), Buffer.from(await rest.arrayBuffer())]);
    expect(createHash('md5').update(whole).digest('hex')).toBe(offer.sign);
    expect((await fetch(offer.fileUrl, { headers: { range: `bytes=${firmware.length}-` } })).status).toBe(416);
    const forged = new URL(offer.fileUrl);
    forged.searchParams.set('assetId', dev('f1').assetId);
    expect((await fetch(forged)).status).toBe(403);
  });

  it('tracks progress to 100 and finishes the task when the device informs the new version', async () => {
    const ok = online.get('ok')!;
    for (const step of ['0', '50', 100])
      expect((await req(ok, 'otaProgress', 'ota.device.progress', { step, desc: 'downloading' })).code).toBe(200);
    expect((await req(ok, 'otaInform', 'ota.device.inform', { version: '2.0.0' })).code).toBe(200);
    expect((await tasks(jobId)).find((t) => t.deviceKey === 'ok')).toMatchObject({ status: 'succeeded', step: 100 });
  });

  it('records the failure steps −1…−4 with their meaning; bad steps and strangers get their codes', async () => {
    const reasons = ['upgrade failed', 'download failed', 'verification failed', 'flashing failed'];
    for (let i = 1; i <= 4; i++) {
      const d = online.get(`f${i}`)!;
      await upgradeOf(d);
      expect((await req(d, 'otaProgress', 'ota.device.progress', { step: String(-i), desc: `failure ${i}` })).code).toBe(200);
    }
    const byKey = new Map((await tasks(jobId)).map((t) => [t.deviceKey, t]));
    for (let i = 1; i <= 4; i++)
      expect(byKey.get(`f${i}`)).toMatchObject({
        status: 'failed',
        step: -i,
        failure: { step: -i, reason: reasons[i - 1], desc: `failure ${i}` },
      });
    expect((await req(online.get('old')!, 'otaProgress', 'ota.device.progress', { step: '10' })).code).toBe(764);
    expect((await req(online.get('ok')!, 'otaProgress', 'ota.device.progress', { step: '-5' })).code).toBe(1220);
    expect((await req(online.get('ok')!, 'otaProgress', 'ota.device.progress', { step: 'half' })).code).toBe(1220);
  });

  it('upgrades a device that was offline during the job when it connects, then the job is done', async () => {
    expect((await job(jobId)).status).toBe('running');
    const late = await connect(dev('late'));
    const msg = await upgradeOf(late);
    expect(msg.params.version).toBe('2.0.0');
    expect((await fetch(msg.params.fileUrl)).status).toBe(200);
    expect((await req(late, 'otaProgress', 'ota.device.progress', { step: '100' })).code).toBe(200);
    expect((await req(late, 'otaInform', 'ota.device.inform', { version: '2.0.0' })).code).toBe(200);
    const done = await job(jobId);
    expect(done.status).toBe('done');
    expect(done.counts).toMatchObject({ succeeded: 2, failed: 4, waiting: 0, notified: 0, upgrading: 0 });
  });

  it('rolls out at the job rate: devices beyond it wait (765 on progress), and cancel stops them', async () => {
    const fw = await upload(product.productKey, '2.1.0', randomBytes(1000));
    const started = await createJob({ firmwareId: fw.data.firmwareId, ratePerMinute: 1, filter: { deviceKeys: ['f1', 'f2', 'f3'] } });
    expect(started.data.targets).toBe(3);
    const told = await Promise.any(['f1', 'f2', 'f3'].map(async (k) => (await upgradeOf(online.get(k)!), k)));
    const waiting = ['f1', 'f2', 'f3'].filter((k) => k !== told);
    expect(
      (await tasks(started.data.jobId))
        .filter((t) => t.status === 'waiting')
        .map((t) => t.deviceKey)
        .sort(),
    ).toEqual(waiting);
    expect((await req(online.get(waiting[0]!)!, 'otaProgress', 'ota.device.progress', { step: '5' })).code).toBe(765);
    expect(
      (await c.call<{ status: string }>('POST', '/connect-service/v2.1/ota-jobs', { action: 'cancel', orgId, jobId: started.data.jobId }))
        .data.status,
    ).toBe('cancelled');
    expect((await tasks(started.data.jobId)).every((t) => t.status === 'cancelled')).toBe(true);
  });

  it('is org-scoped: another organization sees neither firmware nor job', async () => {
    const other = await newTenant(h, 'other');
    expect((await other.client.call('GET', '/connect-service/v2.1/ota-jobs', { action: 'get', orgId: other.orgId, jobId })).code).toBe(
      99404,
    );
  });
});
