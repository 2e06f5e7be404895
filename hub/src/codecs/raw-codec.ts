/**
 * Codecs of raw (`dataFormat: Custom`) payloads: `thing/model/up_raw`, `down_raw` and their
 * replies carry bytes instead of the JSON envelope (docs/PROTOCOL.md §7.1). A codec turns
 * those bytes into the same request the JSON topics carry, so decoded data goes through the
 * same handlers, checks and storage. A codec is data (a kind and a layout), never user code.
 */

/** A raw uplink message, decoded: the JSON envelope's fields. */
export interface RawRequest {
  /** Echoed in the reply; undefined when the frame carries no id. */
  id: string | number | undefined;
  method: string;
  params: unknown;
}

/** A cloud → device command before encoding (the JSON envelope of docs/ENOS-PROTOCOL.md §4.2). */
export interface RawCommand {
  id: string;
  /** A small numeric id for codecs whose frames cannot carry the command's text id. */
  frameId?: number;
  method: string;
  params: unknown;
}

/** A device's answer on `down_raw_reply`, decoded. */
export interface RawReply {
  id: string | number | undefined;
  code: number;
  data: unknown;
  message?: string;
}

export interface RawCodec {
  /** Decodes an `up_raw` payload; throws EnosError 1220 when the bytes do not fit the codec. */
  decodeRequest(bytes: Buffer): RawRequest;
  /** The `up_raw_reply` payload for a request (its id, when it had one) and its outcome. */
  encodeReply(id: string | number | undefined, code: number, data: unknown, message?: string): Buffer;
  /** The `down_raw` payload of a command; throws EnosError when the codec cannot carry it. */
  encodeCommand(command: RawCommand): Buffer;
  /** Decodes a `down_raw_reply` payload; throws EnosError 1220 when the bytes do not fit. */
  decodeReply(bytes: Buffer): RawReply;
}
