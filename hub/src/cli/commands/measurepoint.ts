import { Option, type Command } from 'commander';
import { formatCsvRow } from '../csv.js';
import { UsageError } from '../errors.js';
import { deviceFrom, intIn, type DeviceRefOptions } from '../options.js';
import { cell, table, time } from '../output.js';
import { openSession, outputFor, type GlobalOptions } from '../session.js';

interface LatestSample {
  value: unknown;
  quality?: number;
  time: number;
}

interface HistorySample {
  measurepoint: string;
  time: number;
  value: unknown;
  quality?: number;
  resume?: boolean;
}

interface HistoryOptions extends DeviceRefOptions {
  point: string[];
  from?: string;
  to?: string;
  order: string;
  limit?: number;
  csv?: boolean;
}

const HISTORY_PAGE = 1000;

/** `measurepoint latest|history`: the values the hub holds for a device (queryLatest, queryHistory). */
export function registerMeasurepoint(program: Command): void {
  const mp = program.command('measurepoint').description('read the measurepoint values of a device');

  refOptions(mp.command('latest').description('the latest value of each measurepoint'))
    .option('--point <id>', 'only this measurepoint (repeatable)', collect)
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<DeviceRefOptions & { point?: string[] } & GlobalOptions>();
      const out = outputFor(o);
      const ref = deviceFrom(arg, o);
      const body: Record<string, unknown> = ref['assetId'] ? { assetIds: [ref['assetId']] } : { devices: [ref] };
      if (o.point?.length) body['measurepoints'] = o.point;
      const session = await openSession(o, out);
      const r = await session.ok<{ assetId: string; measurepoints: Record<string, LatestSample> }[]>(
        'POST',
        'measurepoints',
        'queryLatest',
        {},
        body,
      );
      const points = r.data[0]?.measurepoints ?? {};
      const rows = Object.entries(points).map(([id, s]) => ({ id, ...s }));
      out.result(r.data[0] ?? {}, () =>
        rows.length === 0
          ? 'no values yet\n'
          : table(rows, [
              { header: 'MEASUREPOINT', value: (x) => x.id },
              { header: 'VALUE', value: (x) => x.value },
              { header: 'QUALITY', value: (x) => x.quality },
              { header: 'TIME', value: (x) => time(x.time) },
            ]),
      );
    });

  refOptions(mp.command('history').description('the values of measurepoints over a time range, oldest first (every page)'))
    .requiredOption('--point <id>', 'a measurepoint (repeatable)', collect)
    .option('--from <time>', 'start, inclusive: ISO 8601 with a zone, or epoch milliseconds (default: one hour ago)')
    .option('--to <time>', 'end, exclusive (default: now)')
    .addOption(new Option('--order <order>', 'asc or desc (any case)').default('ASC').argParser(order))
    .option('--limit <n>', 'at most this many values', intIn(1, 10_000_000))
    .option('--csv', 'print CSV (measurepoint,time,value,quality) instead of a table')
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<HistoryOptions & GlobalOptions>();
      if (o.csv && o.json) throw new UsageError('give --csv or --json, not both');
      const out = outputFor(o);
      const ref = deviceFrom(arg, o);
      const now = Date.now();
      const range = { startTime: timeArg(o.from, '--from') ?? now - 3_600_000, endTime: timeArg(o.to, '--to') ?? now };
      const session = await openSession(o, out);
      const items: HistorySample[] = [];
      let cursor: string | undefined;
      do {
        const pageSize = Math.min(HISTORY_PAGE, (o.limit ?? Infinity) - items.length);
        const body: Record<string, unknown> = { measurepoints: o.point, ...range, order: o.order, pageSize };
        if (cursor !== undefined) body['cursor'] = cursor;
        const r = await session.ok<{ items: HistorySample[]; nextCursor?: string | null }>(
          'POST',
          'measurepoints',
          'queryHistory',
          ref,
          body,
        );
        items.push(...r.data.items);
        cursor = r.data.nextCursor ?? undefined;
      } while (cursor !== undefined && items.length < (o.limit ?? Infinity));
      if (o.csv) {
        process.stdout.write(
          formatCsvRow(['measurepoint', 'time', 'value', 'quality']) +
            items
              .map((s) =>
                formatCsvRow([
                  s.measurepoint,
                  new Date(s.time).toISOString(),
                  csvValue(s.value),
                  s.quality === undefined ? '' : String(s.quality),
                ]),
              )
              .join(''),
        );
        return;
      }
      out.result({ items }, () =>
        table(items, [
          { header: 'TIME', value: (s) => time(s.time) },
          { header: 'MEASUREPOINT', value: (s) => s.measurepoint },
          { header: 'VALUE', value: (s) => s.value },
          { header: 'QUALITY', value: (s) => s.quality },
        ]),
      );
      if (!o.json) out.notice(`${items.length} values`);
    });
}

function refOptions(cmd: Command): Command {
  return cmd
    .argument('[device]', 'productKey/deviceKey or an assetId (or the options below)')
    .option('--asset-id <assetId>', 'the device asset id')
    .option('--product <productKey>', 'the product key (with --key)')
    .option('--key <deviceKey>', 'the device key (with --product)');
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function order(value: string): string {
  const upper = value.toUpperCase();
  if (upper !== 'ASC' && upper !== 'DESC') throw new UsageError(`--order: expected asc or desc, got '${value}'`);
  return upper;
}

/** Epoch milliseconds, or an ISO 8601 date-time with its zone (a time without one is ambiguous). */
function timeArg(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(value))
    throw new UsageError(`${name}: give epoch milliseconds or an ISO 8601 time with a zone (e.g. 2026-12-03T08:00:00Z), got '${value}'`);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${name}: not a time: '${value}'`);
  return ms;
}

function csvValue(v: unknown): string {
  return typeof v === 'string' ? v : cell(v);
}
