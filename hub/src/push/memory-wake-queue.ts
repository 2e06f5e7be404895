import { randomUUID } from 'node:crypto';
import { wakeKey, type LeasedWake, type WakeQueue, type WakeRequest } from './wake-queue.js';

interface Entry {
  wake: WakeRequest;
  due: number;
  attempts: number;
  /** Bumped by every enqueue: an ack only removes the entry if nothing was queued since the lease. */
  seq: number;
  lease?: { id: string; until: number; seq: number };
}

/** The wake-up queue of a single node, in memory (docs/DEVICE-MANAGEMENT.md, "Push queue"). */
export class MemoryWakeQueue implements WakeQueue {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: () => number = Date.now) {}

  async enqueue(wake: WakeRequest): Promise<void> {
    const key = wakeKey(wake);
    const e = this.entries.get(key);
    if (e) {
      e.seq++;
      return;
    }
    this.entries.set(key, { wake: { deviceType: wake.deviceType, deviceId: wake.deviceId }, due: this.clock(), attempts: 0, seq: 1 });
  }

  async lease(max: number, leaseMs: number): Promise<LeasedWake[]> {
    const now = this.clock();
    const due = [...this.entries.values()]
      .filter((e) => (e.lease ? e.lease.until <= now : e.due <= now))
      .sort((a, b) => (a.lease?.until ?? a.due) - (b.lease?.until ?? b.due));
    return due.slice(0, max).map((e) => {
      e.lease = { id: randomUUID(), until: now + leaseMs, seq: e.seq };
      return { ...e.wake, attempts: e.attempts, leaseId: e.lease.id };
    });
  }

  private held(w: LeasedWake): Entry | undefined {
    const e = this.entries.get(wakeKey(w));
    return e?.lease?.id === w.leaseId && e.lease.until > this.clock() ? e : undefined;
  }

  async ack(w: LeasedWake): Promise<boolean> {
    const e = this.held(w);
    if (!e) return false;
    if (e.seq === e.lease!.seq) {
      this.entries.delete(wakeKey(w));
    } else {
      delete e.lease;
      e.attempts = 0;
      e.due = this.clock();
    }
    return true;
  }

  async retry(w: LeasedWake, notBefore: number): Promise<boolean> {
    const e = this.held(w);
    if (!e) return false;
    delete e.lease;
    e.attempts++;
    e.due = notBefore;
    return true;
  }

  async size(): Promise<number> {
    return this.entries.size;
  }

  async close(): Promise<void> {}
}
