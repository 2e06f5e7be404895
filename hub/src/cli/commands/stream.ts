import { signedHeaders } from '@edgehub/shared';
import { Option, type Command } from 'commander';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { ApiError } from '../../client/api-client.js';
import { UsageError } from '../errors.js';
import { deviceArg } from '../options.js';
import { openSession, outputFor, type GlobalOptions, type Session } from '../session.js';

interface StreamOptions extends GlobalOptions {
  product?: string;
  device?: string;
  type?: string[];
}

const TYPES = ['measurepoints', 'event', 'lifecycle'];
/** Wait before reconnecting after the hub closed the stream (a restart, or this client fell behind). */
const RECONNECT_MS = 1000;

/**
 * `stream`: tails the org's application stream (the hub's Server-Sent Events, docs/PROTOCOL.md) and
 * prints one JSON line per event on stdout, so that `| jq` or `| grep` can follow it. Ctrl-C ends it
 * with exit code 0.
 */
export function registerStream(program: Command): void {
  program
    .command('stream')
    .description("tail the org's application stream: one JSON line per event (Ctrl-C to stop)")
    .option('--product <productKey>', 'only devices of this product')
    .option('--device <device>', 'only this device: productKey/deviceKey')
    .addOption(
      new Option('--type <type>', 'only this kind of event (repeatable)').choices(TYPES).argParser((v: string, prev: string[] = []) => {
        if (!TYPES.includes(v)) throw new UsageError(`--type: expected one of ${TYPES.join(', ')}, got '${v}'`);
        return [...prev, v];
      }),
    )
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<StreamOptions>();
      const out = outputFor(o);
      const query = streamQuery(o);
      const session = await openSession(o, out);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await tail(
          session,
          query,
          stop.signal,
          (line) => process.stdout.write(line + '\n'),
          (msg) => out.notice(msg),
        );
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

function streamQuery(o: StreamOptions): Record<string, string> {
  const q: Record<string, string> = {};
  if (o.device !== undefined) {
    const ref = deviceArg(o.device);
    if (!ref['productKey']) throw new UsageError('--device: give productKey/deviceKey');
    if (o.product !== undefined && o.product !== ref['productKey']) throw new UsageError('--device names another product than --product');
    q['productKey'] = ref['productKey'];
    q['deviceKey'] = ref['deviceKey']!;
  } else if (o.product !== undefined) q['productKey'] = o.product;
  if (o.type?.length) q['types'] = [...new Set(o.type)].join(',');
  return q;
}

/** Reads the stream until `signal` aborts; reconnects when the hub closes it. */
async function tail(
  session: Session,
  query: Record<string, string>,
  signal: AbortSignal,
  line: (json: string) => void,
  notice: (msg: string) => void,
): Promise<void> {
  const url = new URL('/stream-service/v1/events', session.profile.url);
  url.searchParams.set('orgId', session.orgId);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  while (!signal.aborted) {
    try {
      const token = await session.client.accessToken();
      const res = await fetch(url, { headers: signedHeaders(token, url, undefined, session.profile.accessSecret), signal });
      if (!res.ok || !res.body) throw await refusal(res);
      notice(`streaming events of org ${session.orgId}${describe(query)} (Ctrl-C to stop)`);
      const parser = createParser({ onEvent: (e: EventSourceMessage) => line(oneLine(e.data)) });
      const decoder = new TextDecoder();
      for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
      if (signal.aborted) return;
      notice('the hub closed the stream; reconnecting');
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError) throw e;
      notice(`stream interrupted (${(e as Error).message}); reconnecting`);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, RECONNECT_MS);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}

/** An event's data is one JSON document; printed compact, whatever the hub's layout. */
function oneLine(data: string): string {
  try {
    return JSON.stringify(JSON.parse(data) as unknown);
  } catch {
    return JSON.stringify({ data });
  }
}

async function refusal(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { code?: unknown; status?: unknown; msg?: unknown };
    const code = typeof body.code === 'number' ? body.code : typeof body.status === 'number' ? body.status : res.status;
    return new ApiError(res.status, code, typeof body.msg === 'string' ? body.msg : text);
  } catch {
    return new ApiError(res.status, res.status, text.slice(0, 200));
  }
}

function describe(q: Record<string, string>): string {
  const parts: string[] = [];
  if (q['productKey']) parts.push(q['deviceKey'] ? `device ${q['productKey']}/${q['deviceKey']}` : `product ${q['productKey']}`);
  if (q['types']) parts.push(`types ${q['types']}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
