import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { normalizeSerial } from './client-certificates.js';
import { ConnectionGate, type Admission, type CloseReason, type ConnectionLimits } from './connection-limits.js';
import { FrameInspector, guardFrames } from './frame-guard.js';
import type { ListenerKind } from './sessions.js';

export interface ListenerOptions {
  host: string;
  /** Plain MQTT (EnOS: 11883). */
  port: number;
  /** MQTT over TLS (EnOS: 18883). */
  tlsPort: number;
  /** MQTT over WebSocket, path /mqtt. */
  wsPort: number;
  /** The server's key/chain pairs (server-certificate.ts): ECDSA and RSA when issued by the hub's CA. */
  tls: { pairs: { key: string; cert: string }[] };
  /** Client-certificate authentication on the TLS listener (mutual TLS). */
  clientCertificates?: { caPems: string[]; isRevoked(serialHex: string): boolean };
  limits: ConnectionLimits;
  /** A connection the listeners ended, and why (logged and counted by the broker). */
  onClosed(reason: CloseReason, listener: ListenerKind): void;
}

export interface Listeners {
  tcp: AddressInfo;
  tls: AddressInfo;
  ws: AddressInfo;
  /** Which listener a connection came through. */
  kindOf(conn: Duplex): ListenerKind;
  /** The connection passed CONNECT: its connect deadline and pre-authentication budget end. */
  authenticated(conn: Duplex): void;
  /** Swaps the TLS listener's certificates (a re-issue) for new handshakes; open connections keep theirs. */
  setServerCertificates(tls: ListenerOptions['tls']): void;
  close(): Promise<void>;
}

/**
 * The broker's three doors, with one door policy (docs/SECURITY.md, "Before authentication"): the
 * connection cap, TCP keepalive and the connect deadline apply from accept on every listener, and
 * the frame guard reads every connection's MQTT bytes before aedes does. TCP_NODELAY on every
 * socket: with Nagle and delayed ACKs a small reply waits ~40 ms (docs/PERFORMANCE-NOTES.md §0).
 */
export async function openListeners(aedes: Aedes, opts: ListenerOptions): Promise<Listeners> {
  const kinds = new WeakMap<Duplex, ListenerKind>();
  const admissions = new WeakMap<Duplex, Admission>();
  const gate = new ConnectionGate(opts.limits, opts.onClosed);
  const handle = (conn: Duplex, kind: ListenerKind, admission: Admission, req?: unknown) => {
    kinds.set(conn, kind);
    admissions.set(conn, admission);
    guardFrames(conn, new FrameInspector(opts.limits, () => admission.authenticated), (violation) => opts.onClosed(violation, kind));
    aedes.handle(conn, req as never);
  };

  const tcp = createNetServer((socket) => {
    const admission = gate.accept(socket, 'tcp');
    if (admission) handle(socket, 'tcp', admission);
  });
  // Certificates are requested but not required at the TLS layer: devices of one-way products use
  // TLS with their secret alone; the CONNECT check decides what a certificate must prove (§6).
  const clientCa = opts.clientCertificates;
  const tlsOptions = clientCa ? { requestCert: true, rejectUnauthorized: false } : {};
  const secureContext = (material: ListenerOptions['tls']) => ({
    key: material.pairs.map((p) => p.key),
    cert: material.pairs.map((p) => p.cert),
    minVersion: 'TLSv1.2' as const,
    ...(clientCa ? { ca: clientCa.caPems } : {}),
  });
  // The connect deadline (the gate) ends a slow handshake; Node's own handshake timeout is only a
  // backstop behind it. The TLS socket handed over after the handshake is not the accepted one:
  // matched by peer address.
  const tlsAdmissions = new Map<string, Admission>();
  const peerOf = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const tls = createTlsServer({ ...secureContext(opts.tls), handshakeTimeout: opts.limits.connectTimeoutMs + 1000, ...tlsOptions }, (socket: TLSSocket) => {
    socket.setNoDelay(true);
    const admission = tlsAdmissions.get(peerOf(socket));
    // A revoked certificate does not get past the handshake (checked in memory, no round trip).
    const peer = clientCa ? socket.getPeerCertificate() : undefined;
    if (!admission || (clientCa && peer?.serialNumber && clientCa.isRevoked(normalizeSerial(peer.serialNumber)))) {
      socket.destroy();
      return;
    }
    handle(socket, 'tls', admission);
  });
  tls.on('connection', (raw: Socket) => {
    const admission = gate.accept(raw, 'tls');
    if (!admission) return;
    const peer = peerOf(raw);
    tlsAdmissions.set(peer, admission);
    raw.once('close', () => tlsAdmissions.delete(peer));
  });
  // A failed handshake is the client's problem, not the server's.
  tls.on('tlsClientError', (_err, socket) => socket.destroy());
  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect to /mqtt with the mqtt subprotocol\n');
  });
  const wsAdmissions = new WeakMap<Socket, Admission>();
  http.on('connection', (raw: Socket) => {
    const admission = gate.accept(raw, 'ws');
    if (admission) wsAdmissions.set(raw, admission);
  });
  const wss = new WebSocketServer({ server: http, path: '/mqtt', maxPayload: opts.limits.maxFrameBytes });
  wss.on('connection', (ws, req) => {
    const admission = wsAdmissions.get(req.socket as Socket);
    if (!admission) return ws.terminate();
    const stream = createWebSocketStream(ws);
    stream.on('error', () => ws.terminate());
    handle(stream, 'ws', admission, req);
  });

  const tcpAddr = await listenOn(tcp, opts.host, opts.port);
  const tlsAddr = await listenOn(tls, opts.host, opts.tlsPort);
  const wsAddr = await listenOn(http, opts.host, opts.wsPort);

  return {
    tcp: tcpAddr,
    tls: tlsAddr,
    ws: wsAddr,
    kindOf: (conn) => kinds.get(conn) ?? 'tcp',
    setServerCertificates: (material) => tls.setSecureContext(secureContext(material)),
    authenticated(conn) {
      const admission = admissions.get(conn);
      if (admission) admission.authenticated = true;
    },
    async close() {
      wss.close();
      gate.destroyAll();
      await Promise.all([closeServer(tcp), closeServer(tls), closeServer(http)]);
    },
  };
}

function listenOn(server: NetServer | TlsServer | HttpServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: NetServer | TlsServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
