/**
 * Modbus TCP framing (MBAP header, Modbus Messaging on TCP/IP Implementation Guide v1.0b §3.1)
 * over node:net. Our own ~100 lines instead of modbus-serial's ServerTCP, because ServerTCP
 * listens on `options.port || 502` (port 0 cannot ask for an ephemeral port, so parallel tests
 * would collide), keeps its net.Server private (no bound port, no connection count), and silently
 * drops requests for another unit id where a Modbus TCP gateway answers exception 0x0B.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { exceptionCode, exceptionPdu, handlePdu, type DataModel } from './pdu.js';

const MBAP_LENGTH = 7;
/** Largest PDU (253) plus the unit id byte. */
const MAX_LENGTH_FIELD = 254;
/** "Not significant" unit id for a device addressed by IP alone (Implementation Guide §4.4.2). */
const ANY_UNIT = 0xff;

export interface ModbusTcpServerOptions {
  host: string;
  /** 0 for an ephemeral port. */
  port: number;
  unitId: number;
  model: DataModel;
}

export interface ModbusTcpServer {
  readonly port: number;
  /** Open client connections. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function listenModbusTcp(opts: ModbusTcpServerOptions): Promise<ModbusTcpServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= MBAP_LENGTH) {
        const length = pending.readUInt16BE(4);
        // Not Modbus (protocol id ≠ 0) or an impossible length: there is no frame boundary to resync on.
        if (pending.readUInt16BE(2) !== 0 || length < 2 || length > MAX_LENGTH_FIELD) {
          socket.destroy();
          return;
        }
        if (pending.length < 6 + length) break;
        const frame = pending.subarray(0, 6 + length);
        pending = pending.subarray(6 + length);
        socket.write(respond(frame, opts));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('Modbus TCP server has no TCP address');
  return {
    port: address.port,
    get connections() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function respond(frame: Buffer, opts: ModbusTcpServerOptions): Buffer {
  const unit = frame.readUInt8(6);
  const request = frame.subarray(MBAP_LENGTH);
  const pdu =
    unit === opts.unitId || unit === ANY_UNIT
      ? handlePdu(opts.model, request)
      : exceptionPdu(request[0] ?? 0, exceptionCode.gatewayTargetFailedToRespond);
  const out = Buffer.alloc(MBAP_LENGTH + pdu.length);
  frame.copy(out, 0, 0, 4); // transaction id and protocol id, echoed
  out.writeUInt16BE(pdu.length + 1, 4);
  out.writeUInt8(unit, 6);
  pdu.copy(out, MBAP_LENGTH);
  return out;
}
