/**
 * A second peer of the edge benchmark, on the uplink side: an MQTT endpoint that answers every
 * request of the edge at once, so that the edge rather than the hub sets the pace. The aedes the hub
 * is built on, in memory and without hooks (as test/bench/mqtt-aedes-server.ts), plus one handler:
 * each request PUBLISHed by a client (`/sys/…` or `/ext/session/…`, not a `_reply`) gets `{"id","code":200,"data"}` pushed
 * to that client on the request's `_reply` topic without a subscription, as the hub does
 * (`combine.login.batch` answers that every sub-device is logged in). Nothing is checked, stored or
 * forwarded.
 *
 * Run by test/bench/edge-bench.ts with an IPC channel: sends `{ port }` when listening; answers
 * `count` with its counters, `open` by starting to keep (reading time, arrival) pairs and `close`
 * with those pairs; exits on `stop` or when its parent goes away.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

export interface ResponderCounts {
  /** Requests answered, any method. */
  messages: number;
  postBatch: number;
  resumeBatch: number;
  /** Readings (entries) in post/batch and resume/batch requests. */
  live: number;
  resumed: number;
  /** Sub-devices with at least one reading received. */
  seen: number;
}

export type ResponderMessage =
  { port: number } | { counts: ResponderCounts } | { samples: { arrival: number; time: number; resumed: boolean }[]; points: number };

if (!process.send) throw new Error('edge-responder.ts needs an IPC channel');
const send = process.send.bind(process);

const counts: ResponderCounts = { messages: 0, postBatch: 0, resumeBatch: 0, live: 0, resumed: 0, seen: 0 };
const seen = new Set<string>();
let samples: { arrival: number; time: number; resumed: boolean }[] | undefined;
let points = 0;

type Entry = { deviceKey?: string; time?: number; measurepoints?: Record<string, unknown> };
type Request = { id?: unknown; method?: string; params?: unknown };

const broker = await Aedes.createBroker({ maxClientsIdLength: 1024 });
broker.on('publish', (packet, client) => {
  if (!client || packet.topic.endsWith('_reply') || !(packet.topic.startsWith('/sys/') || packet.topic.startsWith('/ext/session/'))) return;
  const arrival = Date.now();
  let req: Request;
  try {
    req = JSON.parse(Buffer.from(packet.payload).toString('utf8')) as Request;
  } catch {
    return;
  }
  counts.messages++;
  let data: unknown = {};
  const batch =
    req.method === 'thing.measurepoint.post.batch' ? 'live' : req.method === 'thing.measurepoint.resume.batch' ? 'resumed' : undefined;
  if (batch && Array.isArray(req.params)) {
    if (batch === 'live') counts.postBatch++;
    else counts.resumeBatch++;
    for (const e of req.params as Entry[]) {
      counts[batch]++;
      if (e.deviceKey) seen.add(e.deviceKey);
      if (samples && typeof e.time === 'number') {
        samples.push({ arrival, time: e.time, resumed: batch === 'resumed' });
        points += Object.keys(e.measurepoints ?? {}).length;
      }
    }
  } else if (req.method === 'combine.login.batch') {
    const subs = ((req.params as { subDevices?: { productKey: string; deviceKey: string }[] } | undefined)?.subDevices ?? []).map((s) => ({
      productKey: s.productKey,
      deviceKey: s.deviceKey,
    }));
    data = { loginedSubDevices: subs, failedSubDevices: [] };
  }
  const payload = Buffer.from(JSON.stringify({ id: req.id, code: 200, data }), 'utf8');
  client.publish({ cmd: 'publish', topic: `${packet.topic}_reply`, payload, qos: 0, retain: false, dup: false }, () => undefined);
});

const server = createServer({ noDelay: true }, (socket) => broker.handle(socket));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

const stop = () => {
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('message', (m: unknown) => {
  if (m === 'count') send({ counts: { ...counts, seen: seen.size } } satisfies ResponderMessage);
  else if (m === 'open') {
    samples = [];
    points = 0;
  } else if (m === 'close') {
    send({ samples: samples ?? [], points } satisfies ResponderMessage);
    samples = undefined;
  } else if (m === 'stop') stop();
});
process.on('disconnect', stop);
send({ port: (server.address() as AddressInfo).port } satisfies ResponderMessage);
