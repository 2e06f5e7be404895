/**
 * The bare aedes peer of the MQTT benchmarks: the aedes the hub is built on, in memory, with no
 * hooks (anyone may connect, publish and subscribe) and TCP_NODELAY on every socket like the hub's
 * listener. Prints `listening <port> aedes <version>` once it accepts connections.
 *
 *   node --import tsx test/bench/mqtt-aedes-server.ts
 *
 * Exits when its stdin closes (the orchestrator is gone) or on SIGTERM.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

// The hub allows long ClientIds (EnOS puts its signing parameters in them); so must the peer,
// since both receive the very same CONNECT frames.
const broker = await Aedes.createBroker({ maxClientsIdLength: 1024 });
const server = createServer({ noDelay: true }, (socket) => broker.handle(socket));
// aedes has a `version` getter that its type declarations leave out.
const version = (broker as unknown as { version?: string }).version ?? 'unknown';
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port} aedes ${version}\n`);
});

const stop = () => {
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
