/**
 * The "floor" peer of the connect storm (docs/BENCHMARKS.md, "CONNECT: the floor under the hub"):
 * bare aedes plus only the work per connection that the hub may not drop, done the cheapest way
 * this benchmark's author knows. It answers how far below bare aedes' cost the ≤ 1.3× row can go
 * while keeping the hub's guarantees, measured in the same run:
 * - the CONNECT signature, with the hub's own parser and check (shared/src/signing/device.ts);
 * - the device's record read from an LMDB store, one get by its product and device key;
 * - its `online` and `offline` status written back to that store and committed with a sync
 *   (docs/PROTOCOL.md §3.3: a status is announced only once on disk), the writes of 20 ms sharing
 *   one commit through the hub's own group commit (hub/src/registry/status-commits.ts);
 * - TCP keepalive and TCP_NODELAY on every socket (the hub's door policy, docs/SECURITY.md).
 * What it leaves out, and the hub does not: the unique-index read, the conditional writes and the
 * status index, the connect throttle, the frame guard and connect deadline, the session registry,
 * the lifecycle events and the application stream's announcement.
 *
 *   node --import tsx test/bench/mqtt-floor-server.ts <devices.json> <store dir>
 *
 * `devices.json` lists `{ assetId, productKey, deviceKey, deviceSecret }`; they are written to a
 * fresh store before it listens. Prints `listening <port> aedes <version>`; exits when its stdin
 * closes or on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Aedes, type Client } from 'aedes';
import { open } from 'lmdb';
import { parseConnect, verifyConnectPassword } from '@edgehub/shared';
import { StatusCommits } from '../../hub/src/registry/status-commits.js';

interface ListedDevice {
  assetId: string;
  productKey: string;
  deviceKey: string;
  deviceSecret: string;
}
interface FloorDevice extends ListedDevice {
  status: string;
  lastOnlineTime?: number;
  lastOfflineTime?: number;
  [field: string]: unknown;
}

const [devicesFile, storeDir] = process.argv.slice(2);
if (!devicesFile || !storeDir) throw new Error('usage: mqtt-floor-server.ts <devices.json> <store dir>');

const root = open({ path: storeDir, maxDbs: 4, overlappingSync: false });
const docs = root.openDB<FloorDevice, string>({ name: 'devices', encoding: 'json' });
const keyOf = (productKey: string, deviceKey: string) => `${productKey}/${deviceKey}`;
const listed = JSON.parse(readFileSync(devicesFile, 'utf8')) as ListedDevice[];
await docs.transaction(() => {
  // The hub's record of a device has these fields after a batchCreate (hub/src/registry/devices.ts).
  for (const d of listed)
    docs.putSync(keyOf(d.productKey, d.deviceKey), {
      ...d,
      orgId: 'o-floor',
      productType: 'Device',
      deviceName: { defaultValue: d.deviceKey, i18nValue: {} },
      timezone: '+08:00',
      deviceAttributes: {},
      deviceTags: {},
      status: 'inactive',
      createBy: 'floor',
      createTime: Date.now(),
      updateTime: Date.now(),
    });
});

/** The hub's own group commit (20 ms window): the writes of one batch go out in one turn and share a commit. */
const statusCommits = new StatusCommits();
function statusWrite(key: string, set: Partial<FloorDevice>): void {
  void statusCommits.run(async () => {
    const current = docs.get(key);
    if (current) await docs.put(key, { ...current, ...set });
  });
}

const devices = new WeakMap<Client, string>();
const broker = await Aedes.createBroker({
  maxClientsIdLength: 1024,
  authenticate(client, username, password, done) {
    const attempt = username === undefined ? null : parseConnect(client.id, username);
    const device = attempt?.algo ? docs.get(keyOf(attempt.productKey, attempt.deviceKey)) : undefined;
    const ok =
      attempt?.algo && device && password && verifyConnectPassword(attempt, password.toString('utf8'), device.deviceSecret, attempt.algo);
    if (!ok || !attempt) return done(null, false);
    devices.set(client, keyOf(attempt.productKey, attempt.deviceKey));
    done(null, true);
  },
});
broker.on('clientReady', (client) => {
  const key = devices.get(client);
  if (key) statusWrite(key, { status: 'online', lastOnlineTime: Date.now() });
});
broker.on('clientDisconnect', (client) => {
  const key = devices.get(client);
  if (key) statusWrite(key, { status: 'offline', lastOfflineTime: Date.now() });
});

const server = createServer({ noDelay: true }, (socket: Socket) => {
  socket.setKeepAlive(true, 60_000);
  broker.handle(socket);
});
const version = (broker as unknown as { version?: string }).version ?? 'unknown';
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port} aedes ${version}\n`);
});

const stop = () => {
  server.close();
  broker.close(() => void root.close().then(() => process.exit(0)));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
