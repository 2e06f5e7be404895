/**
 * The bare aedes peer of the MQTT benchmarks: the aedes the hub is built on, in memory, with no
 * hooks (anyone may connect, publish and subscribe) and TCP_NODELAY on every socket like the hub's
 * listener. Prints `listening <port> aedes <version>` once it accepts connections.
 *
 *   node --import tsx test/bench/mqtt-aedes-server.ts [--store <dir>]
 *
 * With `--store`, the broker and the engine together, the floor of the `cluster` group's latency
 * rows in one process: every measurepoint post is held until its values are durable, as the hub
 * holds it. Its JSON is parsed and its rows written as the engine peer writes them
 * (test/bench/pace-store.ts, `putPost`), the posts of one event-loop turn in one child transaction;
 * only once that commits does aedes send the PUBACK and forward the post to its subscribers. No
 * checks, no thing model, no `_reply`, no stream event of our own.
 *
 * Exits when its stdin closes (the orchestrator is gone) or on SIGTERM.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes, type AuthorizePublishHandler } from 'aedes';
import { openPaceStore, putPost, type PaceStore } from './pace-store.js';

const storeAt = process.argv.indexOf('--store');
const store = storeAt > 0 ? openPaceStore(process.argv[storeAt + 1]!) : undefined;

// The hub allows long ClientIds (EnOS puts its signing parameters in them); so must the peer,
// since both receive the very same CONNECT frames.
const broker = await Aedes.createBroker({ maxClientsIdLength: 1024, ...(store ? { authorizePublish: durablePosts(store) } : {}) });
const server = createServer({ noDelay: true }, (socket) => broker.handle(socket));
// aedes has a `version` getter that its type declarations leave out.
const version = (broker as unknown as { version?: string }).version ?? 'unknown';
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port} aedes ${version}\n`);
});

const stop = () => {
  server.close();
  broker.close(() => void (store ? store.root.close() : Promise.resolve()).finally(() => process.exit(0)));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();

/** `/sys/{productKey}/{deviceKey}/thing/measurepoint/post`: the device as the rows' asset. */
const POST = /^\/sys\/([^/]+)\/([^/]+)\/thing\/measurepoint\/post$/;

/** authorizePublish that lets a measurepoint post through once its rows are committed (one child transaction per turn). */
function durablePosts(store: PaceStore): AuthorizePublishHandler {
  interface Turn {
    posts: [assetId: string, values: [string, unknown][], time: number][];
    done: ((err: Error | null) => void)[];
  }
  let turn: Turn | undefined;
  return (_client, packet, done) => {
    const m = POST.exec(packet.topic);
    if (!m) return done(null);
    let values: [string, unknown][];
    let time: number;
    try {
      const body = JSON.parse(packet.payload.toString()) as { params: { measurepoints: Record<string, unknown>; time?: number } };
      values = Object.entries(body.params.measurepoints);
      time = body.params.time ?? Date.now();
    } catch (err) {
      return done(err as Error);
    }
    if (!turn) {
      const group: Turn = { posts: [], done: [] };
      turn = group;
      setImmediate(() => {
        turn = undefined;
        store.samples
          .childTransaction(() => {
            for (const [assetId, v, t] of group.posts) putPost(store, assetId, v, t);
          })
          .then(
            () => group.done.forEach((cb) => cb(null)),
            (err: Error) => group.done.forEach((cb) => cb(err)),
          );
      });
    }
    turn.posts.push([`${m[1]}/${m[2]}`, values, time]);
    turn.done.push(done);
  };
}
