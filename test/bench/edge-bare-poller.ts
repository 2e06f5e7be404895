/**
 * The peer of the edge benchmark: the least a Node process must do to poll the same devices at the
 * same rate. One modbus-serial TCP client per device (as the edge opens them), a fixed-rate timer
 * per device reading the same 15 holding registers with fc 3 and decoding the 10 values, and
 * nothing else: no JSON, no batching, no uplink, no buffer, no config center. What the edge uses
 * beyond this is the cost of its own work per reading.
 *
 * Run by test/bench/edge-bench.ts with an IPC channel and one argument, a JSON
 * `{ ports, intervalMs, timeoutMs }`: sends `{ connected }` once every client is connected,
 * answers `count` with `{ readings, errors }`, exits on `stop` or when its parent goes away.
 */
import modbusSerial from 'modbus-serial';
import { REGISTERS, decodeRegisters } from './edge-points.js';

export type BarePollerMessage = { connected: number } | { readings: number; errors: number };

// modbus-serial is CommonJS with `module.exports.default = module.exports` (as in edge/src/southbound/link.ts).
const ModbusRTU = modbusSerial.default;

const arg = process.argv[2];
if (!arg) throw new Error('usage: edge-bare-poller.ts <json>');
const { ports, intervalMs, timeoutMs } = JSON.parse(arg) as { ports: number[]; intervalMs: number; timeoutMs: number };
if (!process.send) throw new Error('edge-bare-poller.ts needs an IPC channel');
const send = process.send.bind(process);

let readings = 0;
let errors = 0;
let stopped = false;
/** Values of the last reading per device, so that decoding is not optimized away. */
const latest: Record<string, number>[] = [];

const clients = await Promise.all(
  ports.map(async (port) => {
    const c = new ModbusRTU();
    c.on('error', () => undefined);
    await c.connectTCP('127.0.0.1', { port });
    c.setID(1);
    c.setTimeout(timeoutMs);
    return c;
  }),
);

clients.forEach((c, i) => {
  const first = Date.now();
  const tick = (scheduledAt: number) => {
    if (stopped) return;
    c.readHoldingRegisters(0, REGISTERS)
      .then(
        (r) => {
          latest[i] = decodeRegisters(r.data);
          readings++;
        },
        () => errors++,
      )
      .finally(() => {
        if (stopped) return;
        // Fixed rate on the original grid, skipping overrun slots, like the edge's device poller.
        const now = Date.now();
        const next = scheduledAt + intervalMs * Math.max(1, Math.ceil((now - scheduledAt) / intervalMs));
        setTimeout(() => tick(next), next - now);
      });
  };
  setTimeout(() => tick(first), 0);
});

const stop = () => {
  stopped = true;
  for (const c of clients) c.destroy(() => undefined);
  process.exit(0);
};
process.on('message', (m: unknown) => {
  if (m === 'count') send({ readings, errors } satisfies BarePollerMessage);
  else if (m === 'stop') stop();
});
process.on('disconnect', stop);
send({ connected: clients.length } satisfies BarePollerMessage);
