import { Option, type Command } from 'commander';
import { MAX_PAGE_SIZE } from '@edgehub/shared';
import { UsageError } from '../errors.js';
import { collectTag, describeRef, deviceFrom, intIn, quote, type DeviceRefOptions } from '../options.js';
import { openSession, outputFor, type GlobalOptions, type Session } from '../session.js';
import { deviceDetails, deviceTable, pageFooter, tripleDetails, withoutSecret, type CreatedDevice, type DeviceView } from '../views.js';
import { registerDeviceImport } from './device-import.js';

interface CreateOptions {
  product: string;
  key?: string;
  name: string;
  timezone: string;
  desc?: string;
  tag?: Record<string, string>;
}

interface SearchOptions {
  product?: string;
  status?: string;
  expression?: string;
  page?: number;
  pageSize?: number;
  all?: boolean;
  showSecret?: boolean;
}

const STATUSES = ['online', 'offline', 'inactive', 'disabled'];

export function registerDevice(program: Command): void {
  const device = program.command('device').description('create, find and manage devices');

  device
    .command('create')
    .description('create a device; prints its triple (productKey, deviceKey, deviceSecret)')
    .requiredOption('--product <productKey>', 'the product of the device')
    .option('--key <deviceKey>', 'the device key (generated if omitted)')
    .requiredOption('--name <name>', 'device name')
    .option('--timezone <tz>', 'UTC offset or IANA zone', '+08:00')
    .option('--desc <text>', 'description')
    .option('--tag <key=value>', 'a device tag (repeatable)', collectTag)
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<CreateOptions & GlobalOptions>();
      const out = outputFor(o);
      const body: Record<string, unknown> = { productKey: o.product, deviceName: { defaultValue: o.name }, timezone: o.timezone };
      if (o.key !== undefined) body['deviceKey'] = o.key;
      if (o.desc !== undefined) body['deviceDesc'] = o.desc;
      if (o.tag !== undefined) body['deviceTags'] = o.tag;
      const session = await openSession(o, out);
      const r = await session.ok<CreatedDevice>('POST', 'devices', 'create', {}, body);
      out.result(r.data, () => tripleDetails(r.data));
    });

  withRefOptions(device.command('get').description('show a device'))
    .option('--show-secret', 'include the device secret')
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<DeviceRefOptions & { showSecret?: boolean } & GlobalOptions>();
      const out = outputFor(o);
      const ref = deviceFrom(arg, o);
      const session = await openSession(o, out);
      const r = await session.ok<DeviceView>('GET', 'devices', 'get', ref);
      const show = o.showSecret === true;
      out.result(withoutSecret(r.data, 'deviceSecret', show), () => deviceDetails(r.data, show));
    });

  device
    .command('search')
    .description(
      'search devices, newest first (devices created in one batch share a time and come in assetId order); with --all: every match, oldest first',
    )
    .option('--product <productKey>', 'only devices of this product')
    .addOption(new Option('--status <status>', 'only devices in this state').choices(STATUSES))
    .option('--expression <expr>', 'more conditions, e.g. "deviceTags.site = \'sh\'"')
    .addOption(new Option('--page <n>', 'page number (default 1)').argParser(intIn(1, 1_000_000)).conflicts('all'))
    .option('--page-size <n>', `devices per page (at most ${MAX_PAGE_SIZE}, default 20; 200 with --all)`, intIn(1, MAX_PAGE_SIZE))
    .option('--all', 'page through every match')
    .option('--show-secret', 'include device secrets')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SearchOptions & GlobalOptions>();
      const out = outputFor(o);
      const expression = searchExpression(o);
      const session = await openSession(o, out);
      const show = o.showSecret === true;
      if (o.all) {
        const items = (await searchAll(session, expression, o.pageSize ?? MAX_PAGE_SIZE)).map((d) =>
          withoutSecret(d, 'deviceSecret', show),
        );
        out.result({ items, totalSize: items.length }, () => deviceTable(items, show));
        if (!o.json) out.notice(`${items.length} devices`);
        return;
      }
      const body: Record<string, unknown> = { pagination: { pageNo: o.page ?? 1, pageSize: o.pageSize ?? 20 } };
      if (expression) body['expression'] = expression;
      const r = await session.ok<DeviceView[]>('POST', 'devices', 'search', {}, body);
      const items = r.data.map((d) => withoutSecret(d, 'deviceSecret', show));
      out.result({ items, pagination: r.pagination }, () => deviceTable(items, show));
      if (!o.json) out.notice(pageFooter(r.pagination, items.length, 'devices'));
    });

  for (const [action, past] of [
    ['enable', 'enabled'],
    ['disable', 'disabled'],
    ['delete', 'deleted'],
  ] as const) {
    withRefOptions(device.command(action).description(`${action} a device`)).action(
      async (arg: string | undefined, _o: unknown, cmd: Command) => {
        const o = cmd.optsWithGlobals<DeviceRefOptions & GlobalOptions>();
        const out = outputFor(o);
        const ref = deviceFrom(arg, o);
        const session = await openSession(o, out);
        await session.ok('POST', 'devices', action, ref);
        out.result({ action, device: ref }, () => `${past} ${describeRef(ref)}`);
      },
    );
  }

  registerDeviceImport(device);
}

/** The device as an argument (productKey/deviceKey or assetId, like `product get <productKey>`) or by options. */
function withRefOptions(cmd: Command): Command {
  return cmd
    .argument('[device]', 'productKey/deviceKey or an assetId (or use the options below)')
    .option('--asset-id <assetId>', 'the device asset id')
    .option('--product <productKey>', 'the product key (with --key)')
    .option('--key <deviceKey>', 'the device key (with --product)');
}

/** The options as one search expression (docs/ENOS-PROTOCOL.md §7.1); the user's own goes in parentheses. */
function searchExpression(o: SearchOptions): string {
  const parts: string[] = [];
  if (o.product !== undefined) parts.push(`productKey = ${quote(o.product)}`);
  if (o.status !== undefined) parts.push(`status = ${quote(o.status)}`);
  if (o.expression !== undefined) {
    if (!o.expression.trim()) throw new UsageError('--expression is empty');
    parts.push(parts.length > 0 ? `(${o.expression})` : o.expression);
  }
  return parts.join(' and ');
}

/**
 * Every matching device. Oldest first: devices created while we page then land after the last
 * page instead of shifting the pages we have not read yet (the default newest-first order would
 * repeat rows); assetId breaks ties between devices created in the same millisecond.
 */
async function searchAll(session: Session, expression: string, pageSize: number): Promise<DeviceView[]> {
  const items: DeviceView[] = [];
  for (let pageNo = 1; ; pageNo++) {
    const body: Record<string, unknown> = {
      pagination: {
        pageNo,
        pageSize,
        sorters: [
          { field: 'createTime', order: 'ASC' },
          { field: 'assetId', order: 'ASC' },
        ],
      },
    };
    if (expression) body['expression'] = expression;
    const r = await session.ok<DeviceView[]>('POST', 'devices', 'search', {}, body);
    items.push(...r.data);
    if (r.data.length < pageSize || items.length >= (r.pagination?.totalSize ?? 0)) return items;
  }
}
