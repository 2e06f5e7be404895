import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { MAX_BATCH } from '@edgehub/shared';
import { CsvSyntaxError, parseCsv } from '../csv.js';
import { ApiError } from '../../client/api-client.js';
import { ReportedFailure, UsageError } from '../errors.js';
import { createInBatches, type BatchItem } from '../import/batches.js';
import { startProgress } from '../import/progress.js';
import { DEFAULT_TIMEZONE, prepareImport, type ImportRow, type RowFailure } from '../import/rows.js';
import { TriplesFile } from '../import/triples-file.js';
import { gitWorkTreeOf } from '../import/work-tree.js';
import { intIn } from '../options.js';
import { openSession, outputFor, type GlobalOptions } from '../session.js';
import type { Output } from '../output.js';

interface ImportOptions {
  csv: string;
  product?: string;
  timezone: string;
  batchSize: number;
  out?: string;
}

export function registerDeviceImport(device: Command): void {
  device
    .command('import')
    .description('create devices from a CSV file (columns: productKey, deviceKey, deviceName, timezone, deviceDesc, tag:<key>)')
    .requiredOption('--csv <file>', 'the CSV file, with a header row')
    .option('--product <productKey>', 'productKey for rows that leave it empty')
    .option('--timezone <tz>', 'timezone for rows that leave it empty', DEFAULT_TIMEZONE)
    .option('--batch-size <n>', `devices per batchCreate call (at most ${MAX_BATCH})`, intIn(1, MAX_BATCH), MAX_BATCH)
    .option('--out <file.csv>', 'write the created triples, with their secrets, to this new file (mode 0600)')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<ImportOptions & GlobalOptions>();
      await importDevices(o, outputFor(o));
    });
}

async function importDevices(o: ImportOptions & GlobalOptions, out: Output): Promise<void> {
  const { rows, failures, total } = prepareImport(await readCsv(o.csv), { productKey: o.product, timezone: o.timezone });
  if (total === 0) throw new UsageError(`${o.csv} has a header but no devices`);
  const session = await openSession(o, out);
  const triples = o.out === undefined ? undefined : await TriplesFile.create(o.out);
  const workTree = o.out === undefined ? undefined : gitWorkTreeOf(o.out);
  if (workTree !== undefined)
    out.notice(
      `warning: ${o.out} holds device secrets and is inside the git work tree ${workTree}; keep it out of commits (.gitignore) or write it elsewhere`,
    );

  let created = 0;
  // A row without a deviceKey gets one from the hub: the user is told which, line by line.
  const generated: { line: number; deviceKey: string }[] = [];
  let done = 0; // rows sent with an outcome
  let stopped: { error: unknown; notImported: ImportRow[] } | undefined;
  // Progress counts every data row; the ones the checks refused are done before the first call.
  const refused = failures.length;
  const progress = rows.length > 0 ? startProgress(total, refused) : undefined;
  try {
    await createInBatches(
      rows,
      o.batchSize,
      (deviceList) => session.call<BatchItem[] | null>('POST', 'devices', 'batchCreate', {}, { deviceList }),
      async (outcomes) => {
        await triples?.append(outcomes);
        for (const x of outcomes) {
          if (x.ok) {
            created++;
            if (x.row.device.deviceKey === undefined) generated.push({ line: x.row.line, deviceKey: x.device.deviceKey });
          } else failures.push({ line: x.row.line, code: x.code, msg: x.msg });
        }
        done += outcomes.length;
        progress?.update(refused + done, created, failures.length);
      },
    );
  } catch (error) {
    // Rows go in order, so the ones without an outcome are exactly those after the last reported.
    stopped = { error, notImported: rows.slice(done) };
  } finally {
    progress?.stop();
    await triples?.close();
  }

  failures.sort((a, b) => a.line - b.line);
  const summary = {
    total,
    created,
    failed: failures.length,
    notImported: stopped?.notImported.length ?? 0,
    out: triples && triples.count > 0 ? triples.path : null,
    failures,
    generated,
  };
  if (!o.json) {
    for (const g of generated) out.notice(`line ${g.line}: no deviceKey given; the hub generated ${g.deviceKey}`);
    for (const f of failures) out.notice(failureLine(f));
  }
  out.result(summary, () => {
    const lines = [`created ${created} of ${total} devices, ${failures.length} failed`];
    if (summary.notImported > 0) lines.push(`${summary.notImported} not imported`);
    return lines.join(', ');
  });
  if (triples && triples.count > 0) out.notice(`the created triples and their secrets are in ${triples.path} (mode 0600)`);
  else if (!triples && created > 0)
    out.notice('the device secrets were not saved (no --out <file.csv>); `device get --show-secret` shows one device at a time');

  if (stopped) {
    const first = stopped.notImported[0];
    if (first) {
      // A refusal means the batch was not created; a lost connection leaves it unknown.
      const inFlight = stopped.error instanceof ApiError ? '' : ' (the batch in flight may have been created: check with `device search`)';
      out.notice(`import stopped at line ${first.line}: ${stopped.notImported.length} rows from there on were not imported${inFlight}`);
    }
    throw stopped.error;
  }
  if (failures.length > 0) throw new ReportedFailure(`${failures.length} rows failed`);
}

async function readCsv(path: string) {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parseCsv(text);
  } catch (e) {
    if (e instanceof CsvSyntaxError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}

function failureLine(f: RowFailure): string {
  return f.code === undefined ? `line ${f.line}: ${f.msg}` : `line ${f.line}: error ${f.code}: ${f.msg}`;
}
