/**
 * One device's poll loop and its measurepoint writes. The loop runs on its own timer at a fixed
 * rate: a slow poll skips the ticks it overran instead of piling them up, and nothing here ever
 * waits on another device.
 */
import { encodeValue } from './codec.js';
import { SouthboundError } from './errors.js';
import type { ModbusClient, ModbusLink } from './link.js';
import { decodeBlock, planReads, type ReadBlock } from './read-plan.js';
import type { PointSpec } from './register-map.js';
import type { SouthDevice, SouthDeviceStatus, SouthReading, SouthState, SouthStateEvent } from './types.js';

export interface DevicePollerHooks {
  reading(r: SouthReading): void;
  state(s: SouthStateEvent): void;
}

export class DevicePoller {
  private readonly plan: ReadBlock[];
  /** Per block: its description for errors and its read, built once rather than at every poll. */
  private readonly reads: { what: string; read: (c: ModbusClient) => Promise<ReadonlyArray<number | boolean>> }[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private consecutiveTimeouts = 0;
  private current: SouthDeviceStatus;

  constructor(
    private readonly device: SouthDevice,
    private readonly link: ModbusLink,
    private readonly hooks: DevicePollerHooks,
    private readonly maxConsecutiveTimeouts: number,
    /** Longest a silent device on a serial line waits between polls (its backoff's cap). */
    private readonly maxSilentBackoffMs = 30_000,
  ) {
    this.plan = planReads(device.map);
    this.reads = this.plan.map((block) => ({
      what: `${device.id}: read fc ${block.fc} at ${block.start} (${block.count})`,
      read: (c: ModbusClient) => readWith(c, block),
    }));
    this.current = { deviceId: device.id, state: 'unknown' };
  }

  start(): void {
    const first = Date.now();
    this.timer = setTimeout(() => this.tick(first), 0);
  }

  /** Ends the loop; resolves when a poll in progress has settled (its results are discarded). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  status(): SouthDeviceStatus {
    return { ...this.current };
  }

  async write(pointId: string, value: unknown): Promise<void> {
    const id = this.device.id;
    if (this.stopped) throw new SouthboundError('stopped', `${id}: southbound stopped`);
    const spec: PointSpec | undefined = Object.hasOwn(this.device.map.points, pointId) ? this.device.map.points[pointId] : undefined;
    if (!spec) throw new SouthboundError('unknown-point', `${id}: no measurepoint ${pointId} in its register map`);
    if (!spec.writable) throw new SouthboundError('not-writable', `${id}: measurepoint ${pointId} is read-only`);
    const encoded = encodeValue(pointId, spec, value);
    const fc = spec.writable.fc;
    await this.link.open(this.device.timeoutMs);
    await this.link.request(this.device.unitId, this.device.timeoutMs, `${id}: write ${pointId} (fc ${fc} at ${spec.address})`, (c) =>
      writeWith(c, fc, spec.address, encoded),
    );
  }

  private tick(scheduledAt: number): void {
    if (this.stopped) return;
    this.running = this.pollOnce(Date.now()).finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      const interval = this.device.pollIntervalMs;
      const now = Date.now();
      // Fixed rate: the next slot on the original grid that is at least the backoff ahead of us.
      const ahead = Math.max(1, Math.ceil((now + this.silentBackoffMs() - scheduledAt) / interval));
      const next = scheduledAt + interval * ahead;
      this.timer = setTimeout(() => this.tick(next), next - now);
    });
  }

  private async pollOnce(time: number): Promise<void> {
    try {
      await this.link.open(this.device.timeoutMs);
    } catch (err) {
      this.fail(err, true);
      return;
    }
    const values: Record<string, number | boolean> = {};
    for (let i = 0; i < this.plan.length; i++) {
      const { what, read } = this.reads[i]!;
      try {
        decodeBlock(this.plan[i]!, await this.link.request(this.device.unitId, this.device.timeoutMs, what, read), values);
      } catch (err) {
        this.fail(err);
        return;
      }
    }
    if (this.stopped) return;
    this.consecutiveTimeouts = 0;
    this.setState('connected');
    this.current.lastReadingAt = time;
    if (this.plan.length > 0) this.hooks.reading({ deviceId: this.device.id, time, values });
  }

  /**
   * A device that stopped answering on a serial line holds the shared bus for a whole timeout at
   * every poll, which slows every device wired to it. So it is asked less and less often: after k
   * timeouts in a row it waits 2^k poll intervals (at most maxSilentBackoffMs, never less than one
   * interval), and is back on its own schedule with its first answer (docs/ARCHITECTURE.md, "Edge:
   * RTU lines"). A TCP device has its own connection and is reset instead (maxConsecutiveTimeouts).
   */
  private silentBackoffMs(): number {
    if (this.device.transport.kind !== 'rtu' || this.consecutiveTimeouts === 0) return 0;
    const interval = this.device.pollIntervalMs;
    return Math.min(interval * 2 ** Math.min(this.consecutiveTimeouts, 16), Math.max(interval, this.maxSilentBackoffMs));
  }

  /** Reports a failed poll; `connecting` when there was no connection to poll over. */
  private fail(err: unknown, connecting = false): void {
    if (this.stopped) return;
    const e = err instanceof SouthboundError ? err : new SouthboundError('protocol-error', `${this.device.id}: ${String(err)}`);
    if (e.reason === 'stopped') return;
    if (connecting) {
      this.setState('disconnected', e.message);
      return;
    }
    if (e.reason === 'timeout') {
      this.consecutiveTimeouts++;
      // Only a TCP link is this device's alone; resetting a serial bus would hurt its neighbours.
      if (this.device.transport.kind === 'tcp' && this.consecutiveTimeouts >= this.maxConsecutiveTimeouts) {
        this.consecutiveTimeouts = 0;
        this.link.reset(e);
      }
    }
    this.setState(e.reason === 'disconnected' ? 'disconnected' : 'error', e.message);
  }

  private setState(state: SouthState, error?: string): void {
    if (this.current.state === state && this.current.error === error) return;
    this.current = {
      deviceId: this.device.id,
      state,
      ...(error !== undefined && { error }),
      ...(this.current.lastReadingAt !== undefined && { lastReadingAt: this.current.lastReadingAt }),
    };
    this.hooks.state({ deviceId: this.device.id, state, ...(error !== undefined && { error }) });
  }
}

async function readWith(c: ModbusClient, b: ReadBlock): Promise<ReadonlyArray<number | boolean>> {
  switch (b.fc) {
    case 1:
      return (await c.readCoils(b.start, b.count)).data;
    case 2:
      return (await c.readDiscreteInputs(b.start, b.count)).data;
    case 3:
      return (await c.readHoldingRegisters(b.start, b.count)).data;
    case 4:
      return (await c.readInputRegisters(b.start, b.count)).data;
  }
}

async function writeWith(c: ModbusClient, fc: 5 | 6 | 15 | 16, address: number, encoded: number[] | boolean): Promise<void> {
  const words = typeof encoded === 'boolean' ? [] : encoded;
  const bit = encoded === true;
  switch (fc) {
    case 5:
      await c.writeCoil(address, bit);
      return;
    case 15:
      await c.writeCoils(address, [bit]);
      return;
    case 6:
      await c.writeRegister(address, words[0] ?? 0);
      return;
    case 16:
      await c.writeRegisters(address, words);
      return;
  }
}
