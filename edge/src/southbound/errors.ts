/**
 * Why a southbound operation failed. The edge answers a measurepoint set on the sub-device's
 * `_reply` topic from `reason` (EnOS defines no device-side codes for field-bus failures), and
 * shows `message` to the operator.
 */
export type SouthboundFailure =
  | 'unknown-device'
  | 'unknown-point'
  | 'not-writable'
  | 'invalid-value'
  | 'out-of-range'
  | 'modbus-exception'
  | 'timeout'
  | 'protocol-error'
  | 'disconnected'
  | 'stopped';

const exceptionNames: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

export class SouthboundError extends Error {
  override readonly name = 'SouthboundError';
  constructor(
    readonly reason: SouthboundFailure,
    message: string,
    /** The Modbus exception code when reason is 'modbus-exception'. */
    readonly modbusCode?: number,
  ) {
    super(message);
  }
}

export function modbusExceptionMessage(code: number): string {
  return `Modbus exception ${code} (${exceptionNames[code] ?? 'unknown exception'})`;
}

/**
 * Normalizes what modbus-serial rejects with (plain Errors tagged with `modbusCode` or errno
 * 'ETIMEDOUT', socket errors) into a SouthboundError that names the device and the operation.
 */
export function toSouthboundError(err: unknown, context: string): SouthboundError {
  if (err instanceof SouthboundError) return err;
  const e = err as { modbusCode?: unknown; errno?: unknown; code?: unknown; message?: unknown };
  if (typeof e?.modbusCode === 'number') {
    return new SouthboundError('modbus-exception', `${context}: ${modbusExceptionMessage(e.modbusCode)}`, e.modbusCode);
  }
  if (e?.errno === 'ETIMEDOUT') return new SouthboundError('timeout', `${context}: no answer (timed out)`);
  const detail = typeof e?.message === 'string' ? e.message : String(err);
  // Socket and port errors carry an errno-style code; modbus-serial's frame checks (length, CRC,
  // unexpected unit or function) are plain Errors: the link is up but the answer was garbage.
  const connectionLevel = typeof e?.errno === 'string' || typeof e?.code === 'string';
  return new SouthboundError(connectionLevel ? 'disconnected' : 'protocol-error', `${context}: ${detail}`);
}
