/**
 * The peer of the start-up benchmark (test/bench/startup-bench.ts): Node with fastify and aedes, the
 * two libraries the hub is built on, and nothing else. One HTTP route and one MQTT listener on
 * ephemeral ports, then a line; stops on SIGTERM.
 */
import { createServer } from 'node:net';
import Fastify from 'fastify';
import { Aedes } from 'aedes';

const app = Fastify();
app.get('/health', async () => ({ status: 'ok' }));
const http = await app.listen({ host: '127.0.0.1', port: 0 });
const broker = await Aedes.createBroker();
const mqtt = createServer((socket) => broker.handle(socket));
await new Promise<void>((resolve) => mqtt.listen(0, '127.0.0.1', resolve));
process.stdout.write(`startup peer ready: ${http}, mqtt port ${(mqtt.address() as { port: number }).port}\n`);
process.on('SIGTERM', () => process.exit(0));
