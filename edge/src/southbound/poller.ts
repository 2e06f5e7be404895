/**
 * The Modbus southbound: polls every configured device on its own schedule over its own link and
 * reports readings and connection states; carries measurepoint sets down as register writes.
 */
import { EventEmitter } from 'node:events';
import { DevicePoller } from './device-poller.js';
import { SouthboundError } from './errors.js';
import { ModbusLink, type SouthTransport } from './link.js';
import { parseRegisterMap } from './register-map.js';
import type { PollerOptions, SouthDevice, SouthDeviceStatus, SouthReading, SouthStateEvent } from './types.js';

export interface ModbusPollerEvents {
  reading: [SouthReading];
  state: [SouthStateEvent];
}

export interface ModbusPoller extends EventEmitter<ModbusPollerEvents> {
  /**
   * Writes one measurepoint (a measurepoint set). Rejects with a SouthboundError: unknown-device,
   * unknown-point, not-writable, invalid-value, out-of-range, modbus-exception, timeout,
   * protocol-error, disconnected or stopped.
   */
  write(deviceId: string, pointId: string, value: number | boolean): Promise<void>;
  /** Every device's current state, in configuration order. */
  status(): SouthDeviceStatus[];
  /** Stops every schedule and closes every connection; no event follows. */
  stop(): Promise<void>;
}

const defaults = { reconnectInitialMs: 1_000, reconnectMaxMs: 30_000, maxConsecutiveTimeouts: 3 };

/** Starts polling at once. Throws a TypeError naming the field for an inconsistent configuration. */
export function createModbusPoller(devices: readonly SouthDevice[], opts: PollerOptions = {}): ModbusPoller {
  return new Poller(devices, opts);
}

class Poller extends EventEmitter<ModbusPollerEvents> implements ModbusPoller {
  private readonly pollers = new Map<string, DevicePoller>();
  private readonly links: ModbusLink[] = [];
  private stopping: Promise<void> | undefined;

  constructor(devices: readonly SouthDevice[], opts: PollerOptions) {
    super();
    const backoff = {
      initialMs: opts.reconnect?.initialMs ?? defaults.reconnectInitialMs,
      maxMs: opts.reconnect?.maxMs ?? defaults.reconnectMaxMs,
    };
    const maxTimeouts = opts.maxConsecutiveTimeouts ?? defaults.maxConsecutiveTimeouts;
    // Devices on one serial line share its port; each TCP device gets a connection of its own.
    const serialLines = new Map<string, ModbusLink>();
    for (const device of checkSouthDevices(devices)) {
      let link = device.transport.kind === 'rtu' ? serialLines.get(device.transport.path) : undefined;
      if (!link) {
        link = new ModbusLink(device.transport, backoff);
        this.links.push(link);
        if (device.transport.kind === 'rtu') serialLines.set(device.transport.path, link);
      }
      const hooks = { reading: (r: SouthReading) => this.emit('reading', r), state: (s: SouthStateEvent) => this.emit('state', s) };
      this.pollers.set(device.id, new DevicePoller(device, link, hooks, maxTimeouts, backoff.maxMs));
    }
    for (const p of this.pollers.values()) p.start();
  }

  async write(deviceId: string, pointId: string, value: number | boolean): Promise<void> {
    const p = this.pollers.get(deviceId);
    if (!p) throw new SouthboundError('unknown-device', `no southbound device ${deviceId}`);
    await p.write(pointId, value);
  }

  status(): SouthDeviceStatus[] {
    return [...this.pollers.values()].map((p) => p.status());
  }

  stop(): Promise<void> {
    // Closing the links at once rejects requests in flight, so stop() never waits out a timeout.
    this.stopping ??= Promise.all([...[...this.pollers.values()].map((p) => p.stop()), ...this.links.map((l) => l.close())]).then(
      () => undefined,
    );
    return this.stopping;
  }
}

/**
 * Checks a whole device list as the poller would run it, without starting anything: each device,
 * unique ids, one set of line settings per serial port. Throws a TypeError naming the key
 * (`<prefix>[i].unitId: …`). The edge runs it before it changes anything (config load, bind).
 */
export function checkSouthDevices(devices: readonly SouthDevice[], prefix = 'devices'): SouthDevice[] {
  const ids = new Set<string>();
  const lines = new Map<string, SouthTransport>();
  return devices.map((d, i) => {
    const device = checkDevice(d, `${prefix}[${i}]`);
    if (ids.has(device.id)) throw new TypeError(`${prefix}[${i}].id: duplicate device id ${device.id}`);
    ids.add(device.id);
    if (device.transport.kind === 'rtu') {
      const line = lines.get(device.transport.path);
      if (line && !sameLine(line, device.transport))
        throw new TypeError(`${prefix}[${i}].transport: ${device.transport.path} is already configured with other line settings`);
      lines.set(device.transport.path, device.transport);
    }
    return device;
  });
}

function checkDevice(d: SouthDevice, path: string): SouthDevice {
  if (typeof d.id !== 'string' || d.id === '') throw new TypeError(`${path}.id: must be a non-empty string`);
  const t = d.transport;
  if (t?.kind === 'tcp') {
    if (typeof t.host !== 'string' || t.host === '') throw new TypeError(`${path}.transport.host: must be a non-empty string`);
    if (!isInt(t.port, 1, 65535)) throw new TypeError(`${path}.transport.port: must be an integer from 1 to 65535`);
  } else if (t?.kind === 'rtu') {
    if (typeof t.path !== 'string' || t.path === '') throw new TypeError(`${path}.transport.path: must be a non-empty string`);
    if (!isInt(t.baudRate, 1, 4_000_000)) throw new TypeError(`${path}.transport.baudRate: must be a positive integer`);
  } else {
    throw new TypeError(`${path}.transport.kind: must be tcp or rtu`);
  }
  // 0 is broadcast on a serial bus (no answer ever comes); 248–255 are reserved there.
  const [minUnit, maxUnit] = t.kind === 'rtu' ? [1, 247] : [0, 255];
  if (!isInt(d.unitId, minUnit, maxUnit)) throw new TypeError(`${path}.unitId: must be an integer from ${minUnit} to ${maxUnit}`);
  if (!isInt(d.pollIntervalMs, 1, 2 ** 31 - 1)) throw new TypeError(`${path}.pollIntervalMs: must be a positive integer`);
  if (!isInt(d.timeoutMs, 1, 2 ** 31 - 1)) throw new TypeError(`${path}.timeoutMs: must be a positive integer`);
  return { ...d, map: parseRegisterMap(d.map, `${path}.map`) };
}

function sameLine(a: SouthTransport, b: SouthTransport): boolean {
  if (a.kind !== 'rtu' || b.kind !== 'rtu') return false;
  return (
    a.path === b.path &&
    a.baudRate === b.baudRate &&
    (a.parity ?? 'none') === (b.parity ?? 'none') &&
    (a.dataBits ?? 8) === (b.dataBits ?? 8) &&
    (a.stopBits ?? 1) === (b.stopBits ?? 1)
  );
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
