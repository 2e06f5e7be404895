/**
 * Certificate rotation (issue 5): renew device certificates before they expire, from the CSR the
 * service stored with each one (§7.3 renew without `csr`: same key, same subject, new validity).
 * The old certificate stays valid for the superseded grace period (HUB_CERT_SUPERSEDED_GRACE_HOURS,
 * docs/SECURITY.md "Certificates"), the device's time to install the new one; then the certificate
 * service revokes it with reason 4 (superseded).
 */
import type { CertificateOperations, DeviceBinding, IssuedCertificate, Logger } from '@edgehub/certificate-service';
import { CertificateError } from '@edgehub/certificate-service';
import type { Registry } from '../registry/registry.js';

const DAY_MS = 86_400_000;

export interface DueOptions {
  /** Certificates whose notAfter falls before now + withinDays are due. */
  withinDays: number;
  now?: Date;
  /** Only these certificates, e.g. `{ orgId }` or one device's binding. */
  scope?: Partial<DeviceBinding>;
}

/**
 * Valid certificates expiring within `withinDays` that have not been renewed yet. A certificate
 * some other certificate was renewed from is not due again: without this, every run would renew
 * the same old certificate until it finally expired.
 */
export async function dueForRenewal(ops: CertificateOperations, o: DueOptions): Promise<IssuedCertificate[]> {
  if (!Number.isFinite(o.withinDays) || o.withinDays < 0)
    throw new RangeError(`withinDays must be a non-negative number, got ${o.withinDays}`);
  const now = o.now ?? new Date();
  const binding = o.scope ? { binding: o.scope } : {};
  const expiring = await ops.list({ ...binding, status: 0, expiresBefore: new Date(now.getTime() + o.withinDays * DAY_MS) });
  if (expiring.length === 0) return [];
  const renewed = new Set((await ops.list(binding)).flatMap((c) => (c.renewedFrom ? [c.renewedFrom] : [])));
  return expiring.filter((c) => !renewed.has(c.serialHex) && c.notAfter.getTime() > now.getTime());
}

/**
 * The terms of a renewal; undefined skips the certificate (its device no longer exists). Without a
 * policy the previous certificate's validDay is kept; the hub uses registryRenewalPolicy.
 */
export type RenewalPolicy = (certificate: IssuedCertificate) => Promise<{ validDay: number; maxValidDay?: number } | undefined>;

export interface RenewOptions extends DueOptions {
  policy?: RenewalPolicy;
}

export interface RotationReport {
  at: Date;
  withinDays: number;
  /** How many certificates were due. */
  due: number;
  renewed: { from: string; to: string; binding: DeviceBinding; notAfter: Date }[];
  skipped: { certSN: string; binding: DeviceBinding; reason: string }[];
  failed: { certSN: string; binding: DeviceBinding; code?: string; message: string }[];
}

/** Renews every certificate due (see dueForRenewal), one at a time; one failure does not stop the others. */
export async function renewExpiring(ops: CertificateOperations, o: RenewOptions): Promise<RotationReport> {
  const now = o.now ?? new Date();
  const due = await dueForRenewal(ops, { ...o, now });
  const report: RotationReport = { at: now, withinDays: o.withinDays, due: due.length, renewed: [], skipped: [], failed: [] };
  for (const c of due) {
    try {
      const terms = o.policy ? await o.policy(c) : { validDay: c.validDay };
      if (!terms) {
        report.skipped.push({ certSN: c.certSN, binding: c.binding, reason: 'the device no longer exists' });
        continue;
      }
      // The scope pins the renewal to the device the certificate is bound to.
      const r = await ops.renew({ certSN: c.certSN, scope: c.binding, ...terms });
      report.renewed.push({ from: c.certSN, to: r.certificate.certSN, binding: c.binding, notAfter: r.certificate.notAfter });
    } catch (err) {
      report.failed.push({
        certSN: c.certSN,
        binding: c.binding,
        ...(err instanceof CertificateError ? { code: err.code } : {}),
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return report;
}

/**
 * The hub's policy, the terms of an EnOS renew without validDay (§7.3): the product's current
 * defaultValidDay, bounded by its maxValidDay. Certificates of deleted devices are not renewed.
 */
export function registryRenewalPolicy(registry: Registry): RenewalPolicy {
  return async (c) => {
    const device = await registry.devices.find({ assetId: c.binding.assetId });
    if (!device || device.orgId !== c.binding.orgId) return undefined;
    const product = await registry.products.byKey(device.productKey);
    if (!product) return undefined;
    return { validDay: product.defaultValidDay, maxValidDay: product.maxValidDay };
  };
}

export interface RotationJobOptions {
  withinDays: number;
  intervalMs: number;
  log: Logger;
  policy?: RenewalPolicy;
  now?: () => Date;
}

export interface RotationJob {
  /** Runs a rotation now (or waits for the one under way) and resolves with its report. */
  runNow(): Promise<RotationReport>;
  /** Stops the timer and waits for a run under way. */
  stop(): Promise<void>;
}

/** Rotates at start and every `intervalMs`; runs never overlap. */
export function startRotationJob(ops: CertificateOperations, o: RotationJobOptions): RotationJob {
  if (!Number.isFinite(o.intervalMs) || o.intervalMs < 1000) throw new RangeError(`intervalMs must be at least 1000, got ${o.intervalMs}`);
  let running: Promise<RotationReport> | undefined;
  let stopped = false;

  const run = (): Promise<RotationReport> => {
    running ??= renewExpiring(ops, {
      withinDays: o.withinDays,
      now: (o.now ?? (() => new Date()))(),
      ...(o.policy ? { policy: o.policy } : {}),
    })
      .then((report) => {
        for (const f of report.failed)
          o.log.warn(`certificate rotation: renewing ${f.certSN} of ${f.binding.productKey}/${f.binding.deviceKey} failed: ${f.message}`);
        // A validity shorter than the window makes every run renew the renewal of the last one.
        const windowEnd = report.at.getTime() + o.withinDays * DAY_MS;
        for (const r of report.renewed.filter((x) => x.notAfter.getTime() < windowEnd)) {
          o.log.warn(
            `certificate rotation: ${r.to} (renewing ${r.from}) expires within the ${o.withinDays}-day window itself; lower the window or raise the product's defaultValidDay`,
          );
        }
        if (report.renewed.length > 0 || report.failed.length > 0) {
          o.log.info(
            `certificate rotation: ${report.renewed.length} renewed, ${report.failed.length} failed, ${report.skipped.length} skipped of ${report.due} expiring within ${o.withinDays} days`,
          );
        }
        return report;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const tick = () => {
    if (stopped) return;
    run().catch((err: unknown) => o.log.error(`certificate rotation: the run failed: ${err instanceof Error ? err.message : String(err)}`));
  };

  const first = setTimeout(tick, 0);
  const timer = setInterval(tick, o.intervalMs);
  first.unref();
  timer.unref();
  return {
    runNow: run,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
