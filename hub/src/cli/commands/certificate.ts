import { Option, type Command } from 'commander';
import { MAX_PAGE_SIZE } from '@edgehub/shared';
import { ApiError } from '../../client/api-client.js';
import { ReportedFailure, apiMessage } from '../errors.js';
import { describeRef, deviceRef, intIn, type DeviceRefOptions } from '../options.js';
import { cell, table, time } from '../output.js';
import { openSession, outputFor, type GlobalOptions, type Session } from '../session.js';
import { pageFooter } from '../views.js';
import { startCountProgress } from '../progress.js';
import { registerCertificateIssue } from './certificate-apply.js';

/** A certificate as `certificates?action=list` returns it (docs/ENOS-PROTOCOL.md §7.3 DeviceCertDetailInfo). */
export interface CertificateView {
  certSN: string;
  cert: string;
  certStatus: 0 | 1 | 2;
  issuer: string;
  subject: string;
  signDate: number;
  effectiveDate: number;
  expireDate: number;
  validDay: number;
  revokerReason?: string;
  issueAuthority: string;
  assetId: string;
  productKey: string;
  deviceKey: string;
}

interface ListOptions extends DeviceRefOptions {
  expiringWithinDays?: number;
  page?: number;
  pageSize?: number;
  all?: boolean;
  showPem?: boolean;
}

const STATUS = ['valid', 'revoked', 'expired'] as const;
/** Certificates expire in days; a rotation window beyond ten years is a typo. */
const MAX_WINDOW_DAYS = 3650;

export function registerCertificate(program: Command): void {
  const certificate = program
    .command('certificate')
    .description("apply for, list, revoke and rotate devices' mutual-TLS certificates; download the CA and CRLs");
  registerCertificateIssue(certificate);

  certificate
    .command('list')
    .description("list a device's certificates (--asset-id, or --product with --key); without a device, the org's, page by page")
    .option('--asset-id <assetId>', 'the device asset id')
    .option('--product <productKey>', 'the product key (with --key)')
    .option('--key <deviceKey>', 'the device key (with --product)')
    .option(
      '--expiring-within-days <n>',
      'only valid certificates expiring within n days that are not renewed yet',
      intIn(0, MAX_WINDOW_DAYS),
    )
    .addOption(new Option('--page <n>', 'page number of the org-wide list (default 1)').argParser(intIn(1, 1_000_000)).conflicts('all'))
    .option('--page-size <n>', `certificates per page of the org-wide list (at most ${MAX_PAGE_SIZE}, default 20)`, intIn(1, MAX_PAGE_SIZE))
    .option('--all', 'every page of the org-wide list')
    .option('--show-pem', 'include the certificates (PEM) in --json output')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<ListOptions & GlobalOptions>();
      const out = outputFor(o);
      const named = o.assetId !== undefined || o.product !== undefined || o.key !== undefined;
      const ref = named ? deviceRef(o) : undefined;
      const window: Record<string, string> = o.expiringWithinDays !== undefined ? { expiringWithinDays: String(o.expiringWithinDays) } : {};
      const session = await openSession(o, out);
      const shown = (items: CertificateView[]) => (o.showPem ? items : items.map(({ cert: _pem, ...rest }) => rest));
      if (ref) {
        const r = await session.ok<CertificateView[]>('GET', 'certificates', 'list', { ...ref, ...window });
        out.result({ items: shown(r.data) }, () => certificateTable(r.data));
        if (!o.json) out.notice(`${r.data.length} certificates of ${describeRef(ref)}`);
        return;
      }
      if (o.all) {
        const items = await listAll(session, window);
        out.result({ items: shown(items), totalSize: items.length }, () => certificateTable(items));
        if (!o.json) out.notice(`${items.length} certificates`);
        return;
      }
      const r = await session.ok<CertificateView[]>('GET', 'certificates', 'list', {
        ...window,
        pageNo: String(o.page ?? 1),
        pageSize: String(o.pageSize ?? 20),
      });
      out.result({ items: shown(r.data), pagination: r.pagination }, () => certificateTable(r.data));
      if (!o.json) out.notice(pageFooter(r.pagination, r.data.length, 'certificates'));
    });

  certificate
    .command('rotate')
    .description('renew every valid certificate of the org that expires within n days and is not renewed yet, from its stored CSR')
    .requiredOption('--within-days <n>', 'the rotation window in days', intIn(0, MAX_WINDOW_DAYS))
    .option('--dry-run', 'only list what would be renewed')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ withinDays: number; dryRun?: boolean } & GlobalOptions>();
      const out = outputFor(o);
      const session = await openSession(o, out);
      // Every page first: renewing changes the set being paged through.
      const due = await listAll(session, { expiringWithinDays: String(o.withinDays) });
      if (o.dryRun) {
        out.result({ due: due.map(({ cert: _pem, ...rest }) => rest) }, () => certificateTable(due));
        if (!o.json) out.notice(`${due.length} certificates would be renewed`);
        return;
      }
      const report = await renewAll(session, due);
      out.result(report, () => rotationTable(report));
      if (!o.json)
        out.notice(
          `${report.renewed.length} renewed, ${report.failed.length} failed of ${due.length} expiring within ${o.withinDays} days`,
        );
      if (report.failed.length > 0) throw new ReportedFailure();
    });
}

interface RotationResult {
  renewed: { from: string; to: string; assetId: string; productKey: string; deviceKey: string }[];
  failed: { certSN: string; assetId: string; productKey: string; deviceKey: string; code: number; msg: string }[];
}

/**
 * Renews one by one, like an EnOS renew without csr and validDay (§7.3): the stored CSR is signed
 * again for the product's defaultValidDay, the same terms as the hub's rotation job.
 */
async function renewAll(session: Session, due: CertificateView[]): Promise<RotationResult> {
  const result: RotationResult = { renewed: [], failed: [] };
  const progress = startCountProgress('renewing', due.length);
  try {
    for (const c of due) {
      await renewOne(session, c, result);
      progress.increment();
    }
  } finally {
    progress.stop();
  }
  return result;
}

async function renewOne(session: Session, c: CertificateView, result: RotationResult): Promise<void> {
  const device = { assetId: c.assetId, productKey: c.productKey, deviceKey: c.deviceKey };
  try {
    const r = await session.ok<{ certSN: string }>(
      'POST',
      'certificates',
      'renew',
      { assetId: c.assetId },
      { certSn: certSnValue(c.certSN) },
    );
    result.renewed.push({ from: c.certSN, to: r.data.certSN, ...device });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    result.failed.push({ certSN: c.certSN, ...device, code: e.code, msg: apiMessage(e) });
  }
}

/** §7.3: certSn is a JSON int; the decimal string when it would not survive as one. */
function certSnValue(certSN: string): number | string {
  const n = Number(certSN);
  return Number.isSafeInteger(n) && String(n) === certSN ? n : certSN;
}

async function listAll(session: Session, query: Record<string, string>): Promise<CertificateView[]> {
  const items: CertificateView[] = [];
  for (let pageNo = 1; ; pageNo++) {
    const r = await session.ok<CertificateView[]>('GET', 'certificates', 'list', {
      ...query,
      pageNo: String(pageNo),
      pageSize: String(MAX_PAGE_SIZE),
    });
    items.push(...r.data);
    if (r.data.length < MAX_PAGE_SIZE || items.length >= (r.pagination?.totalSize ?? 0)) return items;
  }
}

function certificateTable(items: readonly CertificateView[]): string {
  return table(items, [
    { header: 'CERT SN', value: (c) => c.certSN },
    { header: 'DEVICE', value: (c) => `${c.productKey}/${c.deviceKey}` },
    { header: 'STATUS', value: (c) => STATUS[c.certStatus] ?? c.certStatus },
    { header: 'CA', value: (c) => c.issueAuthority },
    { header: 'ISSUED', value: (c) => time(c.signDate) },
    { header: 'EXPIRES', value: (c) => time(c.expireDate) },
    // Last: a long subject then never pushes the other columns apart.
    { header: 'SUBJECT', value: (c) => c.subject },
  ]);
}

function rotationTable(r: RotationResult): string {
  const rows = [
    ...r.renewed.map((x) => ({ device: `${x.productKey}/${x.deviceKey}`, from: x.from, outcome: `renewed: ${x.to}` })),
    ...r.failed.map((x) => ({ device: `${x.productKey}/${x.deviceKey}`, from: x.certSN, outcome: `error ${x.code}: ${cell(x.msg)}` })),
  ];
  return table(rows, [
    { header: 'DEVICE', value: (x) => x.device },
    { header: 'CERT SN', value: (x) => x.from },
    { header: 'OUTCOME', value: (x) => x.outcome },
  ]);
}
