import { EnosError, codes } from '@edgehub/shared';
import type { RawCodec, RawCommand, RawReply, RawRequest } from './raw-codec.js';

/**
 * The declarative binary-layout codec (docs/PROTOCOL.md §7.1): fixed-layout frames
 * described as data — fields at byte offsets with a numeric type, a byte order and a scale. Frames
 * are told apart by a type byte. Nothing of the layout is executed; it is only read.
 */

export const fieldTypes = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'] as const;
export type FieldType = (typeof fieldTypes)[number];
export type Endian = 'big' | 'little';

export interface LayoutField {
  /** The measurepoint, event output or attribute (or, in a command, the param) it carries. */
  name: string;
  offset: number;
  type: FieldType;
  /** Defaults to the layout's byte order. */
  endian?: Endian;
  /** value = raw × scale (and raw = round(value ÷ scale) when encoding); default 1. */
  scale?: number;
}

export interface LayoutId {
  offset: number;
  type: 'uint8' | 'uint16' | 'uint32';
  endian?: Endian;
}

export interface LayoutTime {
  offset: number;
  /** uint32 = epoch seconds, float64 = epoch milliseconds. */
  type: 'uint32' | 'float64';
  endian?: Endian;
}

export interface UplinkFrame {
  /** The value of the type byte that selects this frame; absent when the layout has one uplink frame. */
  type?: number;
  /** The request this frame stands for, e.g. thing.measurepoint.post or thing.event.overheat.post. */
  method: string;
  /** Exact length in bytes: a shorter (truncated) or longer frame is refused. */
  length: number;
  id?: LayoutId;
  time?: LayoutTime;
  fields: LayoutField[];
}

export interface CommandFrame {
  /** Written into the type byte. */
  type?: number;
  length: number;
  id?: LayoutId;
  fields: LayoutField[];
}

export interface BinaryLayout {
  /** Default byte order of every number; big-endian (network order) when absent. */
  endian?: Endian;
  /** Where the type byte is; 0 when absent. */
  typeOffset?: number;
  frames: UplinkFrame[];
  /** Downlink frames by command method (`thing.service.<id>` or `thing.service.measurepoint.set`). */
  commands?: Record<string, CommandFrame>;
}

export const MAX_FRAME_BYTES = 4096;
export const MAX_FIELDS = 256;
export const MAX_FRAMES = 64;

const sizeOf: Record<FieldType, number> = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, float64: 8 };
const uplinkMethod = /^thing\.(measurepoint\.(post|resume)|attribute\.update|event\.[A-Za-z0-9_-]+\.post)$/;
const commandMethod = /^thing\.service\.[A-Za-z0-9_.-]+$/;

/** Why a layout cannot be used, or undefined when it is sound. Checked when a product's codec is set. */
export function layoutProblem(layout: BinaryLayout): string | undefined {
  if (layout.frames.length === 0 || layout.frames.length > MAX_FRAMES) return `frames must hold 1 to ${MAX_FRAMES} frames`;
  const typed = layout.frames.filter((f) => f.type !== undefined).length;
  if (layout.frames.length > 1 && typed !== layout.frames.length) return 'every frame needs a type when there is more than one';
  const types = new Set<number>();
  for (const [i, f] of layout.frames.entries()) {
    const where = `frames[${i}]`;
    if (!uplinkMethod.test(f.method))
      return `${where}.method must be thing.measurepoint.post|resume, thing.attribute.update or thing.event.<id>.post`;
    if (f.type !== undefined) {
      if (types.has(f.type)) return `${where}.type ${f.type} is used twice`;
      types.add(f.type);
    }
    const p = frameProblem(layout, f, where);
    if (p) return p;
  }
  for (const [method, c] of Object.entries(layout.commands ?? {})) {
    if (!commandMethod.test(method)) return `commands.${method}: the key must be a thing.service.<id> method`;
    const p = frameProblem(layout, c, `commands.${method}`);
    if (p) return p;
  }
  return undefined;
}

function frameProblem(layout: BinaryLayout, f: UplinkFrame | CommandFrame, where: string): string | undefined {
  if (!Number.isInteger(f.length) || f.length < 1 || f.length > MAX_FRAME_BYTES) return `${where}.length must be 1 to ${MAX_FRAME_BYTES}`;
  if (f.fields.length > MAX_FIELDS) return `${where}.fields holds more than ${MAX_FIELDS} fields`;
  const used: [number, number, string][] = [];
  if (f.type !== undefined) used.push([layout.typeOffset ?? 0, 1, 'type byte']);
  if (f.id) used.push([f.id.offset, sizeOf[f.id.type], 'id']);
  if ('time' in f && f.time) used.push([f.time.offset, sizeOf[f.time.type], 'time']);
  const names = new Set<string>();
  for (const field of f.fields) {
    if (names.has(field.name)) return `${where}: field ${field.name} appears twice`;
    names.add(field.name);
    if (field.scale !== undefined && (!Number.isFinite(field.scale) || field.scale === 0))
      return `${where}: field ${field.name} needs a finite, non-zero scale`;
    used.push([field.offset, sizeOf[field.type], `field ${field.name}`]);
  }
  for (const [offset, size, what] of used) {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > f.length)
      return `${where}: ${what} at offset ${offset} does not fit in ${f.length} bytes`;
  }
  const sorted = [...used].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) {
    const [po, ps, pw] = sorted[i - 1]!;
    if (sorted[i]![0] < po + ps) return `${where}: ${sorted[i]![2]} overlaps ${pw}`;
  }
  return undefined;
}

function read(buf: Buffer, offset: number, type: FieldType, endian: Endian): number {
  const le = endian === 'little';
  switch (type) {
    case 'uint8':
      return buf.readUInt8(offset);
    case 'int8':
      return buf.readInt8(offset);
    case 'uint16':
      return le ? buf.readUInt16LE(offset) : buf.readUInt16BE(offset);
    case 'int16':
      return le ? buf.readInt16LE(offset) : buf.readInt16BE(offset);
    case 'uint32':
      return le ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset);
    case 'int32':
      return le ? buf.readInt32LE(offset) : buf.readInt32BE(offset);
    case 'float32':
      return le ? buf.readFloatLE(offset) : buf.readFloatBE(offset);
    case 'float64':
      return le ? buf.readDoubleLE(offset) : buf.readDoubleBE(offset);
  }
}

function write(buf: Buffer, offset: number, type: FieldType, endian: Endian, value: number): void {
  const le = endian === 'little';
  switch (type) {
    case 'uint8':
      buf.writeUInt8(value, offset);
      return;
    case 'int8':
      buf.writeInt8(value, offset);
      return;
    case 'uint16':
      if (le) buf.writeUInt16LE(value, offset);
      else buf.writeUInt16BE(value, offset);
      return;
    case 'int16':
      if (le) buf.writeInt16LE(value, offset);
      else buf.writeInt16BE(value, offset);
      return;
    case 'uint32':
      if (le) buf.writeUInt32LE(value, offset);
      else buf.writeUInt32BE(value, offset);
      return;
    case 'int32':
      if (le) buf.writeInt32LE(value, offset);
      else buf.writeInt32BE(value, offset);
      return;
    case 'float32':
      if (le) buf.writeFloatLE(value, offset);
      else buf.writeFloatBE(value, offset);
      return;
    case 'float64':
      if (le) buf.writeDoubleLE(value, offset);
      else buf.writeDoubleBE(value, offset);
      return;
  }
}

/** Scaling by a decimal factor: 123 × 0.1 reads 12.3, not 12.300000000000001. */
function scaled(raw: number, scale: number | undefined): number {
  if (scale === undefined || scale === 1) return raw;
  return Number.parseFloat((raw * scale).toPrecision(15));
}

function formatError(why: string): EnosError {
  return new EnosError(codes.payloadFormatError, `Payload format error: ${why}`);
}

/** Width of a reply/ack id: the request's id field when it had one (uint16 BE code follows). */
const REPLY_ID_BYTES = 4;

export function binaryLayoutCodec(layout: BinaryLayout): RawCodec {
  const order: Endian = layout.endian ?? 'big';
  const typeOffset = layout.typeOffset ?? 0;
  const byType = new Map(layout.frames.filter((f) => f.type !== undefined).map((f) => [f.type!, f]));
  const single = layout.frames.length === 1 && layout.frames[0]!.type === undefined ? layout.frames[0] : undefined;

  return {
    decodeRequest(bytes): RawRequest {
      if (bytes.length === 0) throw new EnosError(codes.payloadEmpty, 'Payload is empty');
      let frame = single;
      if (!frame) {
        if (bytes.length <= typeOffset) throw formatError(`frame of ${bytes.length} bytes has no type byte at offset ${typeOffset}`);
        frame = byType.get(bytes[typeOffset]!);
        if (!frame) throw formatError(`frame type ${bytes[typeOffset]} is not in the product's layout`);
      }
      if (bytes.length !== frame.length) throw formatError(`frame for ${frame.method} must be ${frame.length} bytes, got ${bytes.length}`);
      const values: Record<string, number> = {};
      for (const f of frame.fields) {
        const v = scaled(read(bytes, f.offset, f.type, f.endian ?? order), f.scale);
        if (!Number.isFinite(v)) throw formatError(`field ${f.name} is not a finite number`);
        values[f.name] = v;
      }
      const id = frame.id ? read(bytes, frame.id.offset, frame.id.type, frame.id.endian ?? order) : undefined;
      let time: number | undefined;
      if (frame.time) {
        const t = read(bytes, frame.time.offset, frame.time.type, frame.time.endian ?? order);
        time = frame.time.type === 'uint32' ? t * 1000 : Math.trunc(t);
      }
      const withTime = <T extends object>(p: T) => (time === undefined ? p : { ...p, time });
      if (frame.method === 'thing.attribute.update') return { id, method: frame.method, params: { attributes: values } };
      if (frame.method.startsWith('thing.event.')) return { id, method: frame.method, params: withTime({ events: values }) };
      return { id, method: frame.method, params: withTime({ measurepoints: values }) };
    },

    // id (uint32, when the request had one) then the code (uint16), both big-endian.
    encodeReply(id, code) {
      const withId = typeof id === 'number';
      const out = Buffer.alloc((withId ? REPLY_ID_BYTES : 0) + 2);
      if (withId) out.writeUInt32BE(id >>> 0, 0);
      out.writeUInt16BE(code & 0xffff, withId ? REPLY_ID_BYTES : 0);
      return out;
    },

    encodeCommand(command: RawCommand): Buffer {
      const frame = layout.commands?.[command.method];
      if (!frame)
        throw new EnosError(codes.invalidArgument, `Invalid Argument: the product's binary layout has no frame for ${command.method}`);
      const params = (command.params ?? {}) as Record<string, unknown>;
      const out = Buffer.alloc(frame.length);
      if (frame.type !== undefined) out.writeUInt8(frame.type, typeOffset);
      if (frame.id) write(out, frame.id.offset, frame.id.type, frame.id.endian ?? order, Number(command.frameId ?? 0));
      for (const f of frame.fields) {
        const v = params[f.name];
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw new EnosError(codes.invalidArgument, `Invalid Argument params.${f.name}: the binary layout needs a number`);
        const raw = f.type.startsWith('float') ? v / (f.scale ?? 1) : Math.round(v / (f.scale ?? 1));
        try {
          write(out, f.offset, f.type, f.endian ?? order, raw);
        } catch {
          throw new EnosError(codes.invalidArgument, `Invalid Argument params.${f.name}: ${v} does not fit in ${f.type}`);
        }
      }
      return out;
    },

    decodeReply(bytes): RawReply {
      if (bytes.length !== REPLY_ID_BYTES + 2)
        throw formatError(`a down_raw_reply frame is ${REPLY_ID_BYTES + 2} bytes (uint32 id, uint16 code), got ${bytes.length}`);
      return { id: bytes.readUInt32BE(0), code: bytes.readUInt16BE(REPLY_ID_BYTES), data: {} };
    },
  };
}
