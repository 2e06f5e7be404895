import { MAX_PAGE_SIZE } from '@edgehub/shared';
import { Option, type Command } from 'commander';
import { ReportedFailure, UsageError } from '../errors.js';
import { collectTag, describeRef, deviceFrom, intIn, quote, type DeviceRefOptions } from '../options.js';
import { keyValues, table, time } from '../output.js';
import { openSession, outputFor, type GlobalOptions, type Session } from '../session.js';
import { withSpinner } from '../spinner.js';
import { pageFooter } from '../views.js';

/** A command as `commands?action=get|search|cancel` returns it (hub/src/api/commands.routes.ts). */
export interface CommandView {
  commandId: string;
  assetId: string;
  productKey: string;
  deviceKey: string;
  kind: string;
  serviceId?: string;
  measurepointId?: string;
  measurepoints?: string[];
  pendingTtl: number;
  timeout: number;
  status: string;
  createdAt: number;
  expireAt: number | null;
  sentAt: number | null;
  repliedAt: number | null;
  reply: { code: number; message: string | null; outputData: unknown } | null;
}

interface IssueOptions extends DeviceRefOptions, GlobalOptions {
  pendingTtl?: number;
  timeout?: number;
  wait: boolean;
}

/** A command whose status will not change any more (docs/ENOS-PROTOCOL.md §7.3 commands). */
const FINAL = new Set(['replied', 'timeout', 'expired', 'cancelled', 'acknowledged', 'error', 'format-error', 'repeated']);
const STATUSES = ['pending', 'sent', ...FINAL];
const POLL_MS = 500;

/** `command invoke|set|get|show|list|cancel`: commands to devices (invokeService, setMeasurepoint, getMeasurepoint). */
export function registerCommand(program: Command): void {
  const command = program
    .command('command')
    .description('send commands to devices and follow them (devices are productKey/deviceKey or an assetId)');

  issueOptions(command.command('invoke').description('invoke a service of a device and wait for its output'))
    .requiredOption('--service <serviceId>', 'the service of the thing model')
    .option(
      '--input <name=value>',
      'an input parameter; the value is read as JSON when it parses, else as a string (repeatable)',
      collectTag,
    )
    .option('--input-json <json>', 'all input parameters as one JSON object')
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<IssueOptions & { service: string; input?: Record<string, string>; inputJson?: string }>();
      if (o.input && o.inputJson) throw new UsageError('give --input or --input-json, not both');
      const inputData = o.inputJson !== undefined ? jsonObject(o.inputJson, '--input-json') : jsonValues(o.input ?? {});
      await issue(o, arg, 'invokeService', { serviceId: o.service }, { inputData }, `service ${o.service}`);
    });

  issueOptions(command.command('set').description('set a measurepoint on a device and wait for its answer'))
    .requiredOption('--point <measurepointId>', 'the measurepoint')
    .requiredOption('--value <json>', 'the value, as JSON (a string needs its quotes: \'"on"\'; a bare word is taken as a string)')
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<IssueOptions & { point: string; value: string }>();
      await issue(o, arg, 'setMeasurepoint', { measurepointId: o.point }, { value: jsonValue(o.value) }, `set ${o.point}`);
    });

  issueOptions(command.command('get').description('ask a device for the current values of measurepoints'))
    .requiredOption('--point <measurepointId>', 'a measurepoint (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<IssueOptions & { point: string[] }>();
      await issue(o, arg, 'getMeasurepoint', {}, { measurepoints: o.point }, `get ${o.point.join(', ')}`);
    });

  command
    .command('show')
    .description('a command, its status and its reply')
    .argument('<commandId>')
    .action(async (commandId: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<GlobalOptions>();
      const out = outputFor(o);
      const session = await openSession(o, out);
      const r = await session.ok<CommandView>('GET', 'commands', 'get', { commandId });
      out.result(r.data, () => commandDetails(r.data));
    });

  command
    .command('list')
    .description('commands, newest first, filtered by device, status, kind or name')
    .argument('[device]', 'only the commands of this device')
    .option('--asset-id <assetId>', 'only the commands of this device')
    .option('--product <productKey>', 'only the commands of devices of this product (with --key: of one device)')
    .option('--key <deviceKey>', 'the device key (with --product)')
    .addOption(new Option('--status <status>', 'only commands in this status').choices(STATUSES))
    .addOption(new Option('--kind <kind>', 'only commands of this kind').choices(['invokeService', 'setMeasurepoint', 'getMeasurepoint']))
    .option('--name <name>', 'only commands of this service or measurepoint')
    .addOption(new Option('--page <n>', 'page number (default 1)').argParser(intIn(1, 1_000_000)).conflicts('all'))
    .option('--page-size <n>', `commands per page (at most ${MAX_PAGE_SIZE}, default 20)`, intIn(1, MAX_PAGE_SIZE))
    .option('--all', 'every page')
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<ListOptions>();
      const out = outputFor(o);
      const expression = listExpression(arg, o);
      const session = await openSession(o, out);
      if (o.all) {
        const items = await listAll(session, expression, o.pageSize ?? MAX_PAGE_SIZE);
        out.result({ items, totalSize: items.length }, () => commandTable(items));
        if (!o.json) out.notice(`${items.length} commands`);
        return;
      }
      const r = await session.ok<CommandView[]>('POST', 'commands', 'search', {}, searchBody(expression, o.page ?? 1, o.pageSize ?? 20));
      out.result({ items: r.data, pagination: r.pagination }, () => commandTable(r.data));
      if (!o.json) out.notice(pageFooter(r.pagination, r.data.length, 'commands'));
    });

  command
    .command('cancel')
    .description('cancel a cached command the device has not received yet')
    .argument('<commandId>')
    .action(async (commandId: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<GlobalOptions>();
      const out = outputFor(o);
      const session = await openSession(o, out);
      const r = await session.ok<CommandView>('POST', 'commands', 'cancel', { commandId });
      out.result(r.data, () => `command ${commandId}: ${r.data.status}`);
    });
}

function issueOptions(cmd: Command): Command {
  return cmd
    .argument('[device]', 'productKey/deviceKey or an assetId (or --asset-id, --product with --key)')
    .option('--asset-id <assetId>', 'the device asset id')
    .option('--product <productKey>', 'the product key (with --key)')
    .option('--key <deviceKey>', 'the device key (with --product)')
    .option('--pending-ttl <seconds>', 'cache the command up to this long for an offline device (default 0: instant)', intIn(0, 172_800))
    .option('--timeout <seconds>', "how long to wait for the device's reply once sent (1–60, default 30)", intIn(1, 60))
    .option('--no-wait', 'with --pending-ttl: print the commandId at once instead of waiting for the reply');
}

/**
 * Issues a command. An instant one is answered by the hub once the device replied (the spinner
 * turns meanwhile); a cached one (--pending-ttl) returns its commandId at once, and unless
 * --no-wait the CLI follows it until the device has answered or the command has ended otherwise.
 */
async function issue(
  o: IssueOptions,
  arg: string | undefined,
  action: string,
  query: Record<string, string>,
  body: unknown,
  what: string,
): Promise<void> {
  const out = outputFor(o);
  const ref = deviceFrom(arg, o);
  const timing: Record<string, string> = {};
  if (o.pendingTtl !== undefined) timing['pendingTtl'] = String(o.pendingTtl);
  if (o.timeout !== undefined) timing['timeout'] = String(o.timeout);
  const session = await openSession(o, out);
  const cached = (o.pendingTtl ?? 0) > 0;
  const waitText = `${what} on ${describeRef(ref)}: waiting for the device`;
  const r = await withSpinner(waitText, o.json === true || cached, () =>
    session.ok<{ commandId: string; outputData?: unknown }>('POST', 'commands', action, { ...ref, ...query, ...timing }, body),
  );
  if (!cached) {
    const result = { commandId: r.data.commandId, status: 'replied', outputData: r.data.outputData ?? null };
    out.result(result, () => keyValues([['commandId', result.commandId], ['status', 'replied'], ...outputPairs(result.outputData)]));
    return;
  }
  if (!o.wait) {
    out.result({ commandId: r.data.commandId, status: 'pending' }, () => r.data.commandId);
    return;
  }
  const final = await withSpinner(waitText, o.json === true, () => follow(session, r.data.commandId));
  out.result(final, () => commandDetails(final));
  if (final.status !== 'replied' || (final.reply && final.reply.code !== 200)) throw new ReportedFailure();
}

async function follow(session: Session, commandId: string): Promise<CommandView> {
  for (;;) {
    const r = await session.ok<CommandView>('GET', 'commands', 'get', { commandId });
    if (FINAL.has(r.data.status)) return r.data;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

interface ListOptions extends DeviceRefOptions, GlobalOptions {
  status?: string;
  kind?: string;
  name?: string;
  page?: number;
  pageSize?: number;
  all?: boolean;
}

function listExpression(arg: string | undefined, o: ListOptions): string {
  const parts: string[] = [];
  const named = arg !== undefined || o.assetId !== undefined || o.key !== undefined;
  if (named) {
    for (const [k, v] of Object.entries(deviceFrom(arg, o))) parts.push(`${k} = ${quote(v)}`);
  } else if (o.product !== undefined) parts.push(`productKey = ${quote(o.product)}`);
  if (o.status !== undefined) parts.push(`status = ${quote(o.status)}`);
  if (o.kind !== undefined) parts.push(`kind = ${quote(o.kind)}`);
  if (o.name !== undefined) parts.push(`name = ${quote(o.name)}`);
  return parts.join(' and ');
}

function searchBody(expression: string, pageNo: number, pageSize: number, oldestFirst = false): Record<string, unknown> {
  const pagination: Record<string, unknown> = { pageNo, pageSize };
  // Oldest first when reading every page: commands issued meanwhile land after the last page.
  if (oldestFirst) pagination['sorters'] = [{ field: 'createdAt', order: 'ASC' }];
  return expression ? { expression, pagination } : { pagination };
}

async function listAll(session: Session, expression: string, pageSize: number): Promise<CommandView[]> {
  const items: CommandView[] = [];
  for (let pageNo = 1; ; pageNo++) {
    const r = await session.ok<CommandView[]>('POST', 'commands', 'search', {}, searchBody(expression, pageNo, pageSize, true));
    items.push(...r.data);
    if (r.data.length < pageSize || items.length >= (r.pagination?.totalSize ?? 0)) return items;
  }
}

function commandTarget(c: CommandView): string {
  return c.serviceId ?? c.measurepointId ?? c.measurepoints?.join(',') ?? '-';
}

function commandTable(items: readonly CommandView[]): string {
  return table(items, [
    { header: 'COMMAND ID', value: (c) => c.commandId },
    { header: 'DEVICE', value: (c) => `${c.productKey}/${c.deviceKey}` },
    { header: 'KIND', value: (c) => c.kind },
    { header: 'NAME', value: (c) => commandTarget(c) },
    { header: 'STATUS', value: (c) => c.status },
    { header: 'CREATED', value: (c) => time(c.createdAt) },
    { header: 'REPLY', value: (c) => (c.reply ? c.reply.code : undefined) },
  ]);
}

function commandDetails(c: CommandView): string {
  return keyValues([
    ['commandId', c.commandId],
    ['device', `${c.productKey}/${c.deviceKey}`],
    ['kind', c.kind],
    ['name', commandTarget(c)],
    ['status', c.status],
    ['createdAt', time(c.createdAt)],
    ['sentAt', time(c.sentAt)],
    ['repliedAt', time(c.repliedAt)],
    ['replyCode', c.reply?.code],
    ['replyMessage', c.reply?.message],
    ...outputPairs(c.reply?.outputData),
  ]);
}

function outputPairs(data: unknown): [string, unknown][] {
  if (data === null || data === undefined) return [];
  if (typeof data !== 'object' || Array.isArray(data)) return [['output', data]];
  return Object.entries(data as Record<string, unknown>).map(([k, v]) => [`output.${k}`, v]);
}

/** A value given on the command line: JSON when it parses, else the text as a string. */
function jsonValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function jsonValues(input: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).map(([k, v]) => [k, jsonValue(v)]));
}

function jsonObject(text: string, name: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`${name}: not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`${name}: must be a JSON object`);
  return v as Record<string, unknown>;
}
