import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { Duplex } from 'node:stream';
import type { BlockList } from 'node:net';
import { acceptProxied, isTrusted, type ProxiedAddress } from './proxy-protocol.js';
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
  /** Load balancers allowed to send a PROXY protocol v2 header (TCP and TLS listeners). */
  proxyProtocol?: { trusted: BlockList; timeoutMs: number; onRefused(reason: string, from: string | undefined): void };
}

export interface Listeners {
  tcp: AddressInfo;
  tls: AddressInfo;
  ws: AddressInfo;
  /** Which listener a connection came through. */
  kindOf(conn: Duplex): ListenerKind;
  /** The device's own address (behind a load balancer: from its PROXY header). */
  remoteOf(conn: Duplex): string | undefined;
  /** Stops accepting new connections; open ones stay (drain). */
  stopAccepting(): void;
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

  const remotes = new WeakMap<Duplex, string>();
  /**
   * A connection from a trusted load balancer starts with a PROXY v2 header naming the device's
   * address; anyone else's connection is taken as it is.
   */
  const proxied = (socket: Socket, next: (conn: Socket, source: ProxiedAddress | undefined) => void) => {
    const proxy = opts.proxyProtocol;
    if (!proxy || !isTrusted(proxy.trusted, socket)) return next(socket, undefined);
    acceptProxied(socket, proxy.timeoutMs, (source) => next(socket, source), (reason) => proxy.onRefused(reason, socket.remoteAddress));
  };
  const remoteText = (socket: Socket, source: ProxiedAddress | undefined) => (source ? `${source.address}:${source.port}` : `${socket.remoteAddress}:${socket.remotePort}`);

  const tcp = createNetServer((raw) => {
    raw.setNoDelay(true);
    track(raw);
    proxied(raw, (socket, source) => {
      kinds.set(socket, 'tcp');
      remotes.set(socket, remoteText(socket, source));
      aedes.handle(socket);
    });
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
    remotes.set(socket, tlsRemotes.get(socket) ?? `${socket.remoteAddress}:${socket.remotePort}`);
    aedes.handle(socket);
  });
  // TLS is terminated here, behind an optional PROXY header read off the raw TCP socket first. A
  // socket with bytes already read past the header goes to TLS through a stream wrapper (TLS over
  // the bare handle would skip them).
  const tlsRemotes = new WeakMap<Duplex, string>();
  const tlsFront = createNetServer((raw) => {
    raw.setNoDelay(true);
    track(raw);
    proxied(raw, (socket, source) => {
      if (!source) return tls.emit('connection', socket);
      const wrapped = raw.readableLength > 0 ? wrapSocket(socket) : socket;
      tlsRemotes.set(wrapped, remoteText(socket, source));
      tls.emit('connection', wrapped);
    });
  });
  tls.on('secureConnection', (s: TLSSocket) => {
    const parent = (s as unknown as { _parent?: Duplex })._parent;
    const remote = parent ? tlsRemotes.get(parent) : undefined;
    if (remote) tlsRemotes.set(s, remote);
  });
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
  const tlsAddr = await listenOn(tlsFront, opts.host, opts.tlsPort);
  const wsAddr = await listenOn(http, opts.host, opts.wsPort);

  return {
    tcp: tcpAddr,
    tls: tlsAddr,
    ws: wsAddr,
    kindOf: (conn) => kinds.get(conn) ?? 'tcp',
    remoteOf: (conn) => remotes.get(conn),
    stopAccepting() {
      for (const server of [tcp, tlsFront, http]) if (server.listening) server.close();
    },
    async close() {
      wss.close();
      for (const s of sockets) s.destroy();
      await Promise.all([closeServer(tcp), closeServer(tlsFront), closeServer(http)]);
      tls.close();
    },
  };
}

/** A duplex over a socket, so that TLS reads through the stream (bytes already unshifted included). */
function wrapSocket(socket: Socket): Duplex {
  const wrapper = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  socket.on('data', (d: Buffer) => {
    if (!wrapper.push(d)) socket.pause();
  });
  socket.once('end', () => wrapper.push(null));
  socket.once('close', () => wrapper.destroy());
  socket.once('error', (err) => wrapper.destroy(err));
  return wrapper;
}

function closeServer(server: NetServer | TlsServer | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
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

