/** What the proxy needs from the southbound (Modbus today; a local MQTT listener later). */
export interface SouthReading {
  deviceId: string;
  time: number;
  values: Record<string, number | boolean>;
}

export interface SouthState {
  deviceId: string;
  state: 'connected' | 'disconnected' | 'error';
  error?: string;
}

export interface Southbound {
  on(event: 'reading', listener: (r: SouthReading) => void): unknown;
  on(event: 'state', listener: (s: SouthState) => void): unknown;
  write(deviceId: string, pointId: string, value: unknown): Promise<void>;
  stop(): Promise<void>;
}
