/** The southbound's public shapes: what the edge configures and what it hears back. */
import type { SouthTransport } from './link.js';
import type { RegisterMap } from './register-map.js';

export type { SouthTransport } from './link.js';

export interface SouthDevice {
  /** The edge's name for the device; readings and states carry it back. */
  id: string;
  transport: SouthTransport;
  /** Modbus unit (slave) id: 1–247 on a serial bus; on TCP whatever the device or gateway expects (0–255). */
  unitId: number;
  pollIntervalMs: number;
  /** Bounds every request and every connect attempt to this device. */
  timeoutMs: number;
  map: RegisterMap;
}

/** One complete poll of a device: every point of its map, read at `time` (ms since the epoch). */
export interface SouthReading {
  deviceId: string;
  time: number;
  values: Record<string, number | boolean>;
}

/**
 * connected: the last poll read everything. error: the device is reachable but the last poll failed
 * (Modbus exception, timeout, garbled answer). disconnected: no connection (refused, dropped, port
 * missing). Emitted when the state or its error text changes, never repeated.
 */
export type SouthState = 'connected' | 'disconnected' | 'error';

export interface SouthStateEvent {
  deviceId: string;
  state: SouthState;
  error?: string;
}

/** A device's state as the config center and connection.state.post (isFull) report it. */
export interface SouthDeviceStatus {
  deviceId: string;
  /** 'unknown' until the first poll has an outcome (EnOS node state 3). */
  state: SouthState | 'unknown';
  error?: string;
  /** Time of the last reading, if any. */
  lastReadingAt?: number;
}

export interface PollerOptions {
  /**
   * Wait before reconnecting after a failed connect; doubles per failure up to maxMs (defaults 1 s → 30 s).
   * maxMs also caps how long a silent device on a serial line waits between polls.
   */
  reconnect?: { initialMs?: number; maxMs?: number };
  /**
   * A TCP connection is dropped and reopened after this many timeouts in a row (default 3): a
   * peer that vanished without a FIN leaves a socket that looks open but will never answer.
   */
  maxConsecutiveTimeouts?: number;
}
