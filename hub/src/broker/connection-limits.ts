import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { FrameViolation } from './frame-guard.js';
import type { ListenerKind } from '../sessions/sessions.js';

/** What a connection may cost the broker, on every listener alike (docs/SECURITY.md). */
export interface ConnectionLimits {
  /** Open MQTT sockets (all listeners together); more are closed at accept. */
  maxConnections: number;
  /** From accept to CONNACK: the TLS handshake and the WebSocket upgrade count against it. */
  connectTimeoutMs: number;
  /** Bytes read before the connection is authenticated (its CONNECT and anything behind it). */
  maxConnectBytes: number;
  /** The largest frame of an authenticated connection. */
  maxFrameBytes: number;
  /** TCP keepalive idle time on every socket (0: off), so a dead link ends in `offline`. */
  tcpKeepAliveSeconds: number;
}

export type CloseReason = 'connect_timeout' | 'max_connections' | FrameViolation;

/** Headroom for REST, the stores and Redis below the process's file limit. */
export function defaultMaxConnections(limitsFile = '/proc/self/limits'): number {
  let files = 0;
  try {
    const line = readFileSync(limitsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    files = Number(line?.split(/\s+/)[3]);
  } catch {
    // Not Linux: fall back below.
  }
  if (!Number.isInteger(files) || files <= 0) return 10_000;
  return files - Math.min(1024, Math.floor(files / 4));
}

export const defaultConnectionLimits = (): ConnectionLimits => ({
  maxConnections: defaultMaxConnections(),
  connectTimeoutMs: 10_000,
  maxConnectBytes: 8 * 1024,
  maxFrameBytes: 1024 * 1024,
  tcpKeepAliveSeconds: 60,
});

/** Where a connection is between accept and authentication. */
export interface Admission {
  readonly authenticated: boolean;
  /** The CONNACK accepted it: the connect deadline no longer applies (its timer is cleared). */
  admit(): void;
}

/**
 * The door policy shared by the three listeners: the connection cap, TCP keepalive and one
 * connect deadline counted from accept. Every socket it ends is reported with a reason.
 */
export class ConnectionGate {
  private readonly open = new Set<Socket>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly onClosed: (reason: CloseReason, listener: ListenerKind) => void,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** A socket was accepted; undefined when it was refused (and destroyed) at once. */
  accept(socket: Socket, listener: ListenerKind): Admission | undefined {
    if (this.open.size >= this.limits.maxConnections) {
      socket.destroy();
      this.onClosed('max_connections', listener);
      return undefined;
    }
    this.open.add(socket);
    socket.setNoDelay(true);
    if (this.limits.tcpKeepAliveSeconds > 0) socket.setKeepAlive(true, this.limits.tcpKeepAliveSeconds * 1000);
    const deadline = setTimeout(() => {
      if (admission.authenticated || socket.destroyed) return;
      socket.destroy();
      this.onClosed('connect_timeout', listener);
    }, this.limits.connectTimeoutMs);
    const admission = {
      authenticated: false,
      admit() {
        admission.authenticated = true;
        clearTimeout(deadline);
      },
    };
    socket.once('close', () => {
      clearTimeout(deadline);
      this.open.delete(socket);
    });
    return admission;
  }

  /** Ends every socket (shutdown). */
  destroyAll(): void {
    for (const s of this.open) s.destroy();
  }
}
