import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openCertificateService, type CertificateService, type DeviceBinding } from '@edgehub/certificate-service';
import { buildCsr, generateDeviceKey, type DeviceKeyPair } from '@edgehub/shared/device-certificate';
import { dueForRenewal, renewExpiring, startRotationJob } from '../src/certificates/rotation.js';

/** Rotation against a real in-process certificate service whose clock the test moves. */
describe('certificate rotation', () => {
  const DAY = 86_400_000;
  const t0 = new Date('2030-01-01T00:00:00Z');
  let clock = t0;
  const at = (days: number) => new Date(t0.getTime() + days * DAY);
  let dir: string;
  let service: CertificateService;
  let keys: DeviceKeyPair;
  let n = 0;

  const binding = (orgId = 'org-1'): DeviceBinding => {
    n++;
    return { orgId, productKey: 'pk', deviceKey: `dev-${n}`, assetId: `asset-${n}` };
  };
  const issue = async (validDay: number, b: DeviceBinding = binding()) =>
    (
      await service.issue({
        csrPem: await buildCsr({ keys, subject: { C: 'CN', ST: 'Shanghai', L: 'Shanghai', O: 'EnOS', OU: 'Rotation', CN: b.assetId } }),
        issueAuthority: 'ECC',
        validDay,
        binding: b,
      })
    ).certificate;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rotation-'));
    service = await openCertificateService({ dataDir: dir, now: () => clock });
    keys = await generateDeviceKey('P-256');
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('renews only valid certificates expiring within the window, from their stored CSR, once', async () => {
    clock = t0;
    const short = await issue(30);
    const long = await issue(365);
    const revoked = await issue(20);
    await service.revoke({ certSN: revoked.certSN, reason: 1 });

    expect(await renewExpiring(service, { withinDays: 7, now: clock })).toMatchObject({ due: 0, renewed: [], failed: [] });

    clock = at(25); // 5 days left for `short`
    const report = await renewExpiring(service, { withinDays: 7, now: clock });
    expect(report).toMatchObject({ due: 1, failed: [], skipped: [] });
    expect(report.renewed).toHaveLength(1);
    const r = report.renewed[0]!;
    expect(r).toMatchObject({ from: short.certSN, binding: short.binding });
    const renewed = (await service.get({ certSN: r.to }))!;
    // same CSR: same subject and key, a new serial, the previous validDay, bound to the same device
    expect(renewed).toMatchObject({
      subject: short.subject,
      binding: short.binding,
      validDay: 30,
      status: 0,
      renewedFrom: short.serialHex,
    });
    expect(renewed.notAfter.getTime()).toBe(at(25 + 30).getTime());
    // the old certificate stays valid: the device has not installed the new one yet
    expect((await service.get({ certSN: short.certSN }))!.status).toBe(0);

    // renewed already: not due again, however often the job runs
    expect(await renewExpiring(service, { withinDays: 7, now: clock })).toMatchObject({ due: 0, renewed: [] });
    expect((await service.list({ binding: { assetId: long.binding.assetId } })).map((c) => c.certSN)).toEqual([long.certSN]);
  });

  it('skips expired certificates, applies the policy and reports failures without stopping', async () => {
    // Each test starts later than the last one ended: the service's clock never runs backwards.
    clock = at(100);
    const expired = await issue(1);
    const gone = await issue(10);
    const tooLong = await issue(10);
    const fine = await issue(10);
    clock = at(108);
    const scope = { orgId: 'org-1' };
    const due = (await dueForRenewal(service, { withinDays: 7, now: clock, scope })).map((c) => c.certSN);
    expect(due).toEqual(expect.arrayContaining([gone.certSN, tooLong.certSN, fine.certSN]));
    expect(due).not.toContain(expired.certSN);

    const report = await renewExpiring(service, {
      withinDays: 7,
      now: clock,
      scope,
      policy: async (c) => {
        if (c.certSN === gone.certSN) return undefined; // the device was deleted
        if (c.certSN === tooLong.certSN) return { validDay: 400, maxValidDay: 365 }; // refused by the service
        return { validDay: 90, maxValidDay: 365 };
      },
    });
    expect(report.skipped).toEqual([{ certSN: gone.certSN, binding: gone.binding, reason: 'the device no longer exists' }]);
    expect(report.failed).toEqual([expect.objectContaining({ certSN: tooLong.certSN, code: 'csr.valid_day_too_large' })]);
    const renewedFine = report.renewed.find((r) => r.from === fine.certSN)!;
    expect((await service.get({ certSN: renewedFine.to }))!.validDay).toBe(90);
  });

  it('keeps to its scope: another org is neither listed nor renewed', async () => {
    clock = at(200);
    const mine = await issue(10, binding('org-a'));
    const theirs = await issue(10, binding('org-b'));
    clock = at(205);
    const report = await renewExpiring(service, { withinDays: 7, now: clock, scope: { orgId: 'org-a' } });
    expect(report.renewed.map((r) => r.from)).toEqual([mine.certSN]);
    expect((await dueForRenewal(service, { withinDays: 7, now: clock, scope: { orgId: 'org-b' } })).map((c) => c.certSN)).toEqual([
      theirs.certSN,
    ]);
  });

  it('the job rotates at start and on its interval, never two runs at once, warns about validities shorter than the window, and stops cleanly', async () => {
    clock = at(300);
    const c = await issue(10, binding('org-job'));
    const tooShort = await issue(5, binding('org-job'));
    clock = at(304);
    const logs: string[] = [];
    const log = {
      info: (m: string) => logs.push(m),
      warn: (m: string) => logs.push(`warn ${m}`),
      error: (m: string) => logs.push(`error ${m}`),
    };
    // Only the job's timers are faked (the certificate service's I/O runs for real). Every run
    // reads the clock once, synchronously as it starts: counting reads counts runs.
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
    let runs = 0;
    const now = () => {
      runs++;
      return clock;
    };
    try {
      const job = startRotationJob(service, { withinDays: 7, intervalMs: 60_000, log, now });
      expect(runs).toBe(0);
      vi.advanceTimersByTime(0);
      expect(runs).toBe(1); // at start
      // runNow joins the run the start triggered instead of starting a second one
      const [first, second] = await Promise.all([job.runNow(), job.runNow()]);
      expect(runs).toBe(1);
      expect(first).toBe(second);
      expect(first.renewed.map((r) => r.from).sort()).toEqual([c.certSN, tooShort.certSN].sort());
      expect(logs).toContain('certificate rotation: 2 renewed, 0 failed, 0 skipped of 2 expiring within 7 days');
      // the 5-day renewal ends inside the 7-day window: the next run renews it again, the operator is told
      const warnings = logs.filter((m) => m.startsWith('warn'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`renewing ${tooShort.certSN}) expires within the 7-day window`);

      // on its interval: nothing before it elapses, one run when it does
      vi.advanceTimersByTime(59_999);
      expect(runs).toBe(1);
      vi.advanceTimersByTime(1);
      expect(runs).toBe(2);
      const periodic = await job.runNow(); // joins the interval's run
      expect(runs).toBe(2);
      expect(periodic.renewed.map((r) => r.from)).toEqual([first.renewed.find((r) => r.from === tooShort.certSN)!.to]);

      await job.stop();
      vi.advanceTimersByTime(10 * 60_000);
      expect(runs).toBe(2); // stopped: no run after stop
    } finally {
      vi.useRealTimers();
    }
    expect(() => startRotationJob(service, { withinDays: 7, intervalMs: 10, log })).toThrow(RangeError);
  });
});
