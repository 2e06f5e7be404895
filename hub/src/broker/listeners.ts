import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { Duplex } from 'node:stream';
import type { BlockList } from 'node:net';
import { acceptProxied, isTrusted, type ProxiedAddress } from './proxy-protocol.js';
import type { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { normalizeSerial } from './client-certificates.js';
import { ConnectionGate, type Admission, type CloseReason, type ConnectionLimits } from './connection-limits.js';
import { FrameInspector, guardFrames } from './frame-guard.js';
import type { ListenerKind } from '../sessions/sessions.js';
import { listenOn } from '../listen.js';

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
  /** Load balancers allowed to send a PROXY protocol v2 header (TCP and TLS listeners). */
  proxyProtocol?: { trusted: BlockList; timeoutMs: number; onRefused(reason: string, from: string | undefined): void };
  /** A connection the listeners ended, and why (logged and counted by the broker). */
  onClosed: (reason: CloseReason, listener: ListenerKind) => void;
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
  /** The client's own address (behind a load balancer: from its PROXY header). */
  remoteOf(conn: Duplex): string | undefined;
  /** Stops accepting new connections; open ones stay (drain). */
  stopAccepting(): void;
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

  /**
   * Where a connection comes from, for the log line of a refused CONNECT (hooks/authenticate.ts):
   * a PROXY header's address, or the TLS socket's as read at accept. A plain TCP socket's own
   * address is only read when asked (a system call and a string per CONNECT otherwise,
   * docs/BENCHMARKS.md "CONNECT and device GET").
   */
  const remotes = new WeakMap<Duplex, string>();
  /**
   * A connection from a trusted load balancer starts with a PROXY v2 header naming the client's
   * address (docs/DEPLOYMENT.md); anyone else's connection is taken as it is.
   */
  const proxied = (socket: Socket, next: (source: ProxiedAddress | undefined) => void) => {
    const proxy = opts.proxyProtocol;
    if (!proxy || !isTrusted(proxy.trusted, socket)) return next(undefined);
    acceptProxied(socket, proxy.timeoutMs, next, (reason) => proxy.onRefused(reason, socket.remoteAddress));
  };
  const remoteText = (socket: Socket, source: ProxiedAddress | undefined) =>
    source ? `${source.address}:${source.port}` : `${socket.remoteAddress}:${socket.remotePort}`;

  const tcp = createNetServer((socket) => {
    const admission = gate.accept(socket, 'tcp');
    if (!admission) return;
    proxied(socket, (source) => {
      if (source) remotes.set(socket, remoteText(socket, source));
      handle(socket, 'tcp', admission);
    });
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
  // TLS is terminated by `tls`, fed by `tlsFront`, which accepts the TCP connection (the door
  // policy, then an optional PROXY header). The connect deadline (the gate) ends a slow handshake;
  // Node's own handshake timeout is only a backstop behind it. The TLS socket handed over after the
  // handshake is not the accepted one: it is matched through its parent, the stream it ran on.
  const tlsAdmissions = new WeakMap<Duplex, { admission: Admission; remote: string }>();
  const tls = createTlsServer(
    { ...secureContext(opts.tls), handshakeTimeout: opts.limits.connectTimeoutMs + 1000, ...tlsOptions },
    (socket: TLSSocket) => {
      socket.setNoDelay(true);
      const parent = (socket as unknown as { _parent?: Duplex })._parent;
      const accepted = parent ? tlsAdmissions.get(parent) : undefined;
      const admission = accepted?.admission;
      // A revoked certificate does not get past the handshake (checked in memory, no round trip).
      const peer = clientCa ? socket.getPeerCertificate() : undefined;
      if (!admission || (clientCa && peer?.serialNumber && clientCa.isRevoked(normalizeSerial(peer.serialNumber)))) {
        socket.destroy();
        return;
      }
      remotes.set(socket, accepted.remote);
      handle(socket, 'tls', admission);
    },
  );
  const tlsFront = createNetServer((raw) => {
    const admission = gate.accept(raw, 'tls');
    if (!admission) return;
    proxied(raw, (source) => {
      // Bytes already read past the header must reach TLS: then it reads through a stream wrapper
      // (TLS over the bare socket handle would skip them).
      const stream = raw.readableLength > 0 ? wrapSocket(raw) : raw;
      tlsAdmissions.set(stream, { admission, remote: remoteText(raw, source) });
      tls.emit('connection', stream);
    });
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
    const admission = wsAdmissions.get(req.socket);
    if (!admission) return ws.terminate();
    const stream = createWebSocketStream(ws);
    stream.on('error', () => ws.terminate());
    handle(stream, 'ws', admission, req);
  });

  const tcpAddr = await listenOn(tcp, opts.host, opts.port);
  const tlsAddr = await listenOn(tlsFront, opts.host, opts.tlsPort);
  const wsAddr = await listenOn(http, opts.host, opts.wsPort);

  return {
    tcp: tcpAddr,
    tls: tlsAddr,
    ws: wsAddr,
    kindOf: (conn) => kinds.get(conn) ?? 'tcp',
    setServerCertificates: (material) => tls.setSecureContext(secureContext(material)),
    authenticated(conn) {
      const admission = admissions.get(conn);
      admission?.admit();
    },
    remoteOf: (conn) => remotes.get(conn) ?? (kinds.get(conn) === 'tcp' ? remoteText(conn as Socket, undefined) : undefined),
    stopAccepting() {
      for (const server of [tcp, tlsFront, http]) if (server.listening) server.close();
    },
    async close() {
      wss.close();
      gate.destroyAll();
      await Promise.all([closeServer(tcp), closeServer(tlsFront), closeServer(http)]);
      tls.close();
    },
  };
}

function closeServer(server: NetServer | TlsServer | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

/** A duplex over a socket, so that TLS reads through the stream (bytes put back included). */
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
  return wrapper;
}
