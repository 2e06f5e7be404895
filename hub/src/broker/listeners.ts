import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { normalizeSerial } from './client-certificates.js';
import type { ListenerKind } from './sessions.js';

export interface ListenerOptions {
  host: string;
  /** Plain MQTT (EnOS: 11883). */
  port: number;
  /** MQTT over TLS (EnOS: 18883). */
  tlsPort: number;
  /** MQTT over WebSocket, path /mqtt. */
  wsPort: number;
  tls: { key: string; cert: string };
  /** Client-certificate authentication on the TLS listener (mutual TLS). */
  clientCertificates?: { caPems: string[]; isRevoked(serialHex: string): boolean };
}

export interface Listeners {
  tcp: AddressInfo;
  tls: AddressInfo;
  ws: AddressInfo;
  /** Which listener a connection came through. */
  kindOf(conn: Duplex): ListenerKind;
  close(): Promise<void>;
}

/**
 * The broker's three doors. TCP_NODELAY on every socket: with Nagle and delayed ACKs a small
 * reply waits ~40 ms (docs/PERFORMANCE-NOTES.md §0).
 */
export async function openListeners(aedes: Aedes, opts: ListenerOptions): Promise<Listeners> {
  const kinds = new WeakMap<Duplex, ListenerKind>();
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  const tcp = createNetServer((socket) => {
    socket.setNoDelay(true);
    track(socket);
    kinds.set(socket, 'tcp');
    aedes.handle(socket);
  });
  // Certificates are requested but not required at the TLS layer: devices of one-way products use
  // TLS with their secret alone; the CONNECT check decides what a certificate must prove (§6).
  const clientCa = opts.clientCertificates;
  const tlsOptions = clientCa ? { requestCert: true, rejectUnauthorized: false, ca: clientCa.caPems } : {};
  const tls = createTlsServer({ key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2', ...tlsOptions }, (socket: TLSSocket) => {
    socket.setNoDelay(true);
    // A revoked certificate does not get past the handshake (checked in memory, no round trip).
    const peer = clientCa ? socket.getPeerCertificate() : undefined;
    if (clientCa && peer?.serialNumber && clientCa.isRevoked(normalizeSerial(peer.serialNumber))) {
      socket.destroy();
      return;
    }
    kinds.set(socket, 'tls');
    aedes.handle(socket);
  });
  tls.on('connection', track);
  // A failed handshake is the client's problem, not the server's.
  tls.on('tlsClientError', (_err, socket) => socket.destroy());
  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect to /mqtt with the mqtt subprotocol\n');
  });
  http.on('connection', (s: Socket) => {
    s.setNoDelay(true);
    track(s);
  });
  const wss = new WebSocketServer({ server: http, path: '/mqtt', maxPayload: 1024 * 1024 });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    stream.on('error', () => ws.terminate());
    kinds.set(stream, 'ws');
    aedes.handle(stream, req);
  });

  const tcpAddr = await listenOn(tcp, opts.host, opts.port);
  const tlsAddr = await listenOn(tls, opts.host, opts.tlsPort);
  const wsAddr = await listenOn(http, opts.host, opts.wsPort);

  return {
    tcp: tcpAddr,
    tls: tlsAddr,
    ws: wsAddr,
    kindOf: (conn) => kinds.get(conn) ?? 'tcp',
    async close() {
      wss.close();
      for (const s of sockets) s.destroy();
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
