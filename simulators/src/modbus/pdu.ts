/**
 * The Modbus application layer of a simulated device: request PDU in, response PDU out
 * (Modbus Application Protocol v1.1b3 §6 for function codes 1–6, 15, 16; §7 for exceptions).
 */

export const exceptionCode = {
  illegalFunction: 0x01,
  illegalDataAddress: 0x02,
  illegalDataValue: 0x03,
  serverDeviceFailure: 0x04,
  gatewayTargetFailedToRespond: 0x0b,
} as const;

export class ModbusException extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** What a device exposes to the protocol: its four tables. Throws ModbusException to refuse. */
export interface DataModel {
  readBits(fc: 1 | 2, start: number, count: number): boolean[];
  readRegisters(fc: 3 | 4, start: number, count: number): number[];
  writeBits(start: number, values: boolean[]): void;
  writeRegisters(start: number, values: number[]): void;
}

export function exceptionPdu(fc: number, code: number): Buffer {
  return Buffer.from([(fc | 0x80) & 0xff, code]);
}

export function handlePdu(model: DataModel, pdu: Buffer): Buffer {
  const fc = pdu[0] ?? 0;
  try {
    return dispatch(model, fc, pdu);
  } catch (err) {
    if (err instanceof ModbusException) return exceptionPdu(fc, err.code);
    if (err instanceof RangeError) return exceptionPdu(fc, exceptionCode.illegalDataValue); // a short frame
    return exceptionPdu(fc, exceptionCode.serverDeviceFailure);
  }
}

function dispatch(model: DataModel, fc: number, pdu: Buffer): Buffer {
  switch (fc) {
    case 1:
    case 2: {
      const [start, count] = [pdu.readUInt16BE(1), pdu.readUInt16BE(3)];
      quantity(count, 2000);
      const bits = model.readBits(fc, start, count);
      const bytes = Buffer.alloc(Math.ceil(count / 8));
      bits.forEach((b, i) => {
        if (b) bytes[i >> 3]! |= 1 << (i & 7);
      });
      return Buffer.concat([Buffer.from([fc, bytes.length]), bytes]);
    }
    case 3:
    case 4: {
      const [start, count] = [pdu.readUInt16BE(1), pdu.readUInt16BE(3)];
      quantity(count, 125);
      const words = model.readRegisters(fc, start, count);
      const out = Buffer.alloc(2 + 2 * count);
      out[0] = fc;
      out[1] = 2 * count;
      words.forEach((w, i) => out.writeUInt16BE(w & 0xffff, 2 + 2 * i));
      return out;
    }
    case 5: {
      const [address, raw] = [pdu.readUInt16BE(1), pdu.readUInt16BE(3)];
      if (raw !== 0xff00 && raw !== 0x0000) throw new ModbusException(exceptionCode.illegalDataValue, 'coil value must be FF00 or 0000');
      model.writeBits(address, [raw === 0xff00]);
      return Buffer.from(pdu.subarray(0, 5)); // echo
    }
    case 6: {
      const [address, value] = [pdu.readUInt16BE(1), pdu.readUInt16BE(3)];
      model.writeRegisters(address, [value]);
      return Buffer.from(pdu.subarray(0, 5)); // echo
    }
    case 15: {
      const [start, count, byteCount] = [pdu.readUInt16BE(1), pdu.readUInt16BE(3), pdu.readUInt8(5)];
      quantity(count, 1968);
      if (byteCount !== Math.ceil(count / 8) || pdu.length < 6 + byteCount)
        throw new ModbusException(exceptionCode.illegalDataValue, 'byte count mismatch');
      const values = Array.from({ length: count }, (_, i) => ((pdu[6 + (i >> 3)] ?? 0) & (1 << (i & 7))) !== 0);
      model.writeBits(start, values);
      return Buffer.from(pdu.subarray(0, 5));
    }
    case 16: {
      const [start, count, byteCount] = [pdu.readUInt16BE(1), pdu.readUInt16BE(3), pdu.readUInt8(5)];
      quantity(count, 123);
      if (byteCount !== 2 * count || pdu.length < 6 + byteCount)
        throw new ModbusException(exceptionCode.illegalDataValue, 'byte count mismatch');
      const values = Array.from({ length: count }, (_, i) => pdu.readUInt16BE(6 + 2 * i));
      model.writeRegisters(start, values);
      return Buffer.from(pdu.subarray(0, 5));
    }
    default:
      throw new ModbusException(exceptionCode.illegalFunction, `function code ${fc} not supported`);
  }
}

function quantity(count: number, max: number): void {
  if (count < 1 || count > max) throw new ModbusException(exceptionCode.illegalDataValue, `quantity ${count} outside 1..${max}`);
}
