/**
 * One Modbus connection through modbus-serial: a TCP socket to one device, or a serial line (RTU)
 * shared by the devices wired to it. Requests on a link run one at a time (a serial bus is
 * half-duplex, and many small TCP devices answer one request at a time too), each bounded by its
 * timeout, so a silent device holds its own link for at most that long and never anyone else's.
 */
import modbusSerial from 'modbus-serial';
import { SouthboundError, toSouthboundError } from './errors.js';

export type SouthTransport =
  | { kind: 'tcp'; host: string; port: number }
  | {
      kind: 'rtu';
      path: string;
      baudRate: number;
      parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
      dataBits?: 5 | 6 | 7 | 8;
      stopBits?: 1 | 2;
    };

// modbus-serial is CommonJS and sets `module.exports.default = module.exports`; under NodeNext its
// typings describe the default import as the whole module, so the class is reached via `.default`.
const ModbusRTU = modbusSerial.default;
/** modbus-serial's client; its typings declare the promise API we use. */
export type ModbusClient = InstanceType<typeof ModbusRTU>;

export interface BackoffOptions {
  /** First wait after a failed connect; doubles on each further failure. */
  initialMs: number;
  maxMs: number;
}

export function describeTransport(t: SouthTransport): string {
  return t.kind === 'tcp' ? `tcp://${t.host}:${t.port}` : `rtu:${t.path}@${t.baudRate}`;
}

export class ModbusLink {
  private client: ModbusClient | undefined;
  private connecting: Promise<ModbusClient> | undefined;
  private failures = 0;
  private nextAttemptAt = 0;
  private lastFailure: SouthboundError | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Fails the running request the moment the connection drops, instead of letting it time out
   * (requests run one at a time, so there is at most one). A hook per request, not a promise kept
   * for the connection's life and raced by every request: each race would leave a reaction on that
   * promise holding the request's result until the connection dropped (docs/ARCHITECTURE.md, "The edge").
   */
  private abortRequest: ((e: Error) => void) | undefined;
  /** Fails the running connect attempt when the link is closed. */
  private abortConnect: ((e: Error) => void) | undefined;
  private closed = false;

  constructor(
    readonly transport: SouthTransport,
    private readonly backoff: BackoffOptions,
  ) {}

  get isOpen(): boolean {
    return this.client !== undefined && this.client.isOpen;
  }

  /**
   * Resolves once the link is open. While a previous attempt's backoff runs it fails at once with
   * that attempt's error, so a poll tick never waits on a device that is known to be down.
   */
  async open(timeoutMs: number): Promise<void> {
    if (this.closed) throw new SouthboundError('stopped', `${describeTransport(this.transport)}: southbound stopped`);
    if (this.isOpen) return;
    if (this.client) this.drop(new SouthboundError('disconnected', `${describeTransport(this.transport)}: connection lost`));
    if (!this.connecting) {
      if (Date.now() < this.nextAttemptAt && this.lastFailure) throw this.lastFailure;
      this.connecting = this.connect(timeoutMs).finally(() => (this.connecting = undefined));
    }
    await this.connecting;
  }

  /** Runs one Modbus transaction for `unitId`, after the ones queued before it. */
  request<T>(unitId: number, timeoutMs: number, what: string, op: (c: ModbusClient) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const client = this.client;
      if (this.closed) throw new SouthboundError('stopped', `${what}: southbound stopped`);
      if (!client || !client.isOpen) throw new SouthboundError('disconnected', `${what}: not connected`);
      client.setID(unitId);
      // modbus-serial's own timer also retires the transaction, so a late answer is ignored.
      client.setTimeout(timeoutMs);
      try {
        return await settleFirst(
          op(client),
          timeoutMs + 50,
          () => new SouthboundError('timeout', `${what}: no answer within ${timeoutMs} ms`),
          (abort) => (this.abortRequest = abort),
        );
      } catch (err) {
        const e = toSouthboundError(err, what);
        // A socket error leaves modbus-serial's port closed without a 'close' event.
        if (!client.isOpen) this.drop(e);
        throw e;
      } finally {
        forgetTransactions(client);
      }
    };
    const result = this.queue.then(run, run);
    // Only the order is kept: a `catch` alone would hand the last result on, and keep it.
    this.queue = result.then(ignore, ignore);
    return result;
  }

  /** Drops the connection; the next open() reconnects (used after repeated timeouts). */
  reset(reason: SouthboundError): void {
    this.drop(reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abortConnect?.(new SouthboundError('stopped', `${describeTransport(this.transport)}: southbound stopped`));
    this.drop(new SouthboundError('stopped', `${describeTransport(this.transport)}: southbound stopped`));
    await this.connecting?.catch(() => undefined);
    this.drop(new SouthboundError('stopped', `${describeTransport(this.transport)}: southbound stopped`));
  }

  private async connect(timeoutMs: number): Promise<ModbusClient> {
    const name = describeTransport(this.transport);
    const client = new ModbusRTU();
    // Serial port errors are re-emitted as 'error'; an unheard one would crash the edge.
    client.on('error', () => undefined);
    try {
      const opening =
        this.transport.kind === 'tcp'
          ? client.connectTCP(this.transport.host, { port: this.transport.port })
          : openSerial(client, this.transport);
      await settleFirst(
        opening,
        timeoutMs,
        () => new SouthboundError('timeout', `${name}: connect timed out after ${timeoutMs} ms`),
        (abort) => (this.abortConnect = abort),
      );
      if (this.closed) throw new SouthboundError('stopped', `${name}: southbound stopped`);
    } catch (err) {
      dispose(client, this.transport);
      const e = err instanceof SouthboundError ? err : new SouthboundError('disconnected', `${name}: ${messageOf(err)}`);
      this.failures++;
      const wait = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (this.failures - 1));
      // Jitter keeps a cabinet of devices that lost power together from reconnecting in lockstep.
      this.nextAttemptAt = Date.now() + wait * (0.8 + 0.2 * Math.random());
      this.lastFailure = e;
      throw e;
    }
    this.failures = 0;
    this.lastFailure = undefined;
    this.client = client;
    // A client we already let go may still report; only the current one may drop the link.
    client.on('close', () => {
      if (this.client === client) this.drop(new SouthboundError('disconnected', `${name}: connection closed by the device`));
    });
    client.on('error', (err: unknown) => {
      if (this.client === client) this.drop(new SouthboundError('disconnected', `${name}: ${messageOf(err)}`));
    });
    return client;
  }

  private drop(reason: SouthboundError): void {
    const client = this.client;
    this.client = undefined;
    this.abortRequest?.(reason);
    if (client) dispose(client, this.transport);
  }
}

/**
 * Settles as `work` does, unless `timeoutMs` passes or the abort handed to `expose` is called
 * first. `expose` receives the abort while the work runs and `undefined` once it has settled, so
 * nothing outlives the one operation: no promise of longer life is raced (see `abortRequest`).
 */
function settleFirst<T>(
  work: Promise<T>,
  timeoutMs: number,
  timeoutError: () => Error,
  expose: (abort: ((e: Error) => void) | undefined) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (done: () => void): void => {
      // The work may still settle after a timeout or an abort; by then the hook may be the next operation's.
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      expose(undefined);
      done();
    };
    const timer = setTimeout(() => settle(() => reject(timeoutError())), timeoutMs);
    expose((e) => settle(() => reject(e)));
    work.then(
      (v) => settle(() => resolve(v)),
      // Passed on as it came, as Promise.race would: the caller normalizes it (toSouthboundError).
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      (e: unknown) => settle(() => reject(e)),
    );
  });
}

function openSerial(client: ModbusClient, t: Extract<SouthTransport, { kind: 'rtu' }>): Promise<void> {
  // The buffered RTU port reassembles frames that arrive in pieces, which USB-serial adapters do.
  return client.connectRTUBuffered(t.path, {
    baudRate: t.baudRate,
    parity: t.parity ?? 'none',
    dataBits: t.dataBits ?? 8,
    stopBits: t.stopBits ?? 1,
  });
}

function dispose(client: ModbusClient, t: SouthTransport): void {
  try {
    // destroy() is immediate for TCP; the buffered RTU port has no destroy and must be closed.
    if (t.kind === 'tcp') client.destroy(() => undefined);
    else if (client.isOpen) client.close(() => undefined);
  } catch {
    // already closed
  }
}

function ignore(): void {}

/**
 * modbus-serial keeps every transaction in a table of 256 per connection, each entry holding its
 * callback and through it the request's result or error, until the id comes round again: about
 * 1.1 KiB per request, some 55 MiB of heap for 200 devices after their 256th poll (docs/BENCHMARKS.md,
 * "Edge runtime"). A link runs one request at a time, so once one has settled none is pending and
 * the table can be emptied; a late answer then finds no transaction, which modbus-serial ignores.
 * The table is the library's own field (8.0.x), hence the guard.
 */
function forgetTransactions(client: ModbusClient): void {
  const c = client as unknown as { _transactions?: unknown };
  if (typeof c._transactions === 'object' && c._transactions !== null) c._transactions = {};
}

function messageOf(err: unknown): string {
  if (err instanceof Error && err.message) return err.message;
  const e = err as { message?: unknown; code?: unknown };
  return typeof e?.message === 'string' && e.message ? e.message : typeof e?.code === 'string' ? e.code : String(err);
}
