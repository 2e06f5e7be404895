import { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionGate, type CloseReason } from '../src/broker/connection-limits.js';

const limits = { maxConnections: 10, connectTimeoutMs: 10_000, maxConnectBytes: 8192, maxFrameBytes: 1 << 20, tcpKeepAliveSeconds: 0 };

describe('ConnectionGate', () => {
  afterEach(() => vi.useRealTimers());

  it('closes a connection that has not authenticated by the deadline', () => {
    vi.useFakeTimers();
    const closed: CloseReason[] = [];
    const gate = new ConnectionGate(limits, (reason) => closed.push(reason));
    const socket = new Socket();
    gate.accept(socket, 'tcp');
    vi.advanceTimersByTime(10_000);
    expect(closed).toEqual(['connect_timeout']);
    expect(socket.destroyed).toBe(true);
  });

  // Each open connection kept its deadline timer until it fired 10 s later: a CONNECT storm paid for
  // 10,000 live timers and their callbacks (docs/BENCHMARKS.md, CONNECT storm).
  it('drops the deadline timer as soon as the connection is admitted, and never closes it', () => {
    vi.useFakeTimers();
    const closed: CloseReason[] = [];
    const gate = new ConnectionGate(limits, (reason) => closed.push(reason));
    const socket = new Socket();
    const admission = gate.accept(socket, 'tcp')!;
    expect(vi.getTimerCount()).toBe(1);
    admission.admit();
    expect(admission.authenticated).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(20_000);
    expect(closed).toEqual([]);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });
});
