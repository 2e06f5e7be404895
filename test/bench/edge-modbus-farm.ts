/**
 * The field of the edge benchmark, in a process of its own so that its CPU is not counted as the
 * edge's: `count` simulated devices, each a Modbus TCP server on its own ephemeral loopback port
 * (one connection per device, as the edge opens it), serving the 15 holding registers of
 * test/bench/edge-points.ts. It reuses the simulators' Modbus TCP framing and PDU handling
 * (simulators/src/modbus) with a data model of its own.
 *
 * Run by test/bench/edge-bench.ts with an IPC channel: prints nothing, sends
 * `{ ports }` when listening, answers `count` with `{ served }` (fc 3 reads answered so far),
 * `hold` and `release` with `{ held }`, and exits on `stop` or when its parent goes away. While
 * held, every read is answered with exception 06 (server device busy) and not counted: the
 * benchmark holds the field back until the edge is live, to measure it in its steady state.
 */
import { listenModbusTcp, type ModbusTcpServer } from '../../simulators/src/modbus/tcp-server.js';
import { ModbusException, exceptionCode, type DataModel } from '../../simulators/src/modbus/pdu.js';
import { REGISTERS, registersAt } from './edge-points.js';

export type FarmMessage = { ports: number[] } | { served: number } | { held: boolean };

const count = Number(process.argv[2]);
if (!Number.isInteger(count) || count < 1) throw new Error('usage: edge-modbus-farm.ts <devices>');
if (!process.send) throw new Error('edge-modbus-farm.ts needs an IPC channel');
const send = process.send.bind(process);

let served = 0;
let held = false;
/** Modbus Application Protocol v1.1b3 §7: the server is busy with a long-duration command. */
const SERVER_DEVICE_BUSY = 0x06;

function device(index: number): DataModel {
  const refuse = (): never => {
    throw new ModbusException(exceptionCode.illegalFunction, 'read-only holding registers');
  };
  return {
    readBits: refuse,
    readRegisters(fc, start, n) {
      if (fc !== 3 || start + n > REGISTERS)
        throw new ModbusException(exceptionCode.illegalDataAddress, `no registers ${start}..${start + n - 1}`);
      if (held) throw new ModbusException(SERVER_DEVICE_BUSY, 'held by the benchmark');
      served++;
      return registersAt(index, Date.now()).slice(start, start + n);
    },
    writeBits: refuse,
    writeRegisters: refuse,
  };
}

const servers: ModbusTcpServer[] = [];
for (let i = 0; i < count; i++) servers.push(await listenModbusTcp({ host: '127.0.0.1', port: 0, unitId: 1, model: device(i) }));

const stop = async () => {
  await Promise.all(servers.map((s) => s.close()));
  process.exit(0);
};
process.on('message', (m: unknown) => {
  if (m === 'count') send({ served } satisfies FarmMessage);
  else if (m === 'hold' || m === 'release') {
    held = m === 'hold';
    send({ held } satisfies FarmMessage);
  } else if (m === 'stop') void stop();
});
process.on('disconnect', () => void stop());
send({ ports: servers.map((s) => s.port) } satisfies FarmMessage);
