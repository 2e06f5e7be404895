/**
 * Per-device connection throttling (docs/ENOS-PROTOCOL.md §2.3, EnOS limits page): at most one
 * connection per `minIntervalMs`, and more than `maxInWindow` connections within `windowMs`
 * blocks the device for `blockMs`. Counted after authentication, so nobody without the device's
 * secret can lock it out.
 */
export interface ThrottleConfig {
  enabled: boolean;
  minIntervalMs: number;
  windowMs: number;
  maxInWindow: number;
  blockMs: number;
}

export const enosThrottle: ThrottleConfig = { enabled: true, minIntervalMs: 1000, windowMs: 120_000, maxInWindow: 4, blockMs: 300_000 };

/** Admits or refuses a device's connection; the reason when refused. */
export interface Throttle {
  admit(deviceId: string, now: number): Promise<string | undefined>;
}

interface DeviceHistory {
  attempts: number[];
  blockedUntil: number;
}

/** The in-process throttle (a single node). */
export class ConnectThrottle implements Throttle {
  private readonly history = new Map<string, DeviceHistory>();
  private lastSweep = 0;

  constructor(private readonly config: ThrottleConfig) {}

  /** Records a connection of the device; returns a reason when it must be refused. */
  async admit(deviceId: string, now: number): Promise<string | undefined> {
    return this.admitSync(deviceId, now);
  }

  private admitSync(deviceId: string, now: number): string | undefined {
    if (!this.config.enabled) return undefined;
    this.sweep(now);
    let h = this.history.get(deviceId);
    if (!h) {
      h = { attempts: [], blockedUntil: 0 };
      this.history.set(deviceId, h);
    }
    if (h.blockedUntil > now) return `connections of this device are blocked for ${Math.ceil((h.blockedUntil - now) / 1000)} s`;
    h.attempts = h.attempts.filter((t) => t > now - this.config.windowMs);
    const last = h.attempts[h.attempts.length - 1];
    h.attempts.push(now);
    if (h.attempts.length > this.config.maxInWindow) {
      h.blockedUntil = now + this.config.blockMs;
      return `more than ${this.config.maxInWindow} connections within ${this.config.windowMs / 1000} s`;
    }
    if (last !== undefined && now - last < this.config.minIntervalMs) return 'more than one connection per second';
    return undefined;
  }

  /** Forgets devices with no recent attempt, so the map stays as large as the active fleet. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.config.windowMs) return;
    this.lastSweep = now;
    for (const [id, h] of this.history) {
      if (h.blockedUntil <= now && (h.attempts.at(-1) ?? 0) <= now - this.config.windowMs) this.history.delete(id);
    }
  }
}
