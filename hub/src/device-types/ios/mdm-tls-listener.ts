import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { listenOn } from '../../listen.js';

/** The server certificate(s) of the listener: one key and chain per algorithm, as the MQTT TLS listener has. */
export interface MdmTlsMaterial {
  pairs: { key: string; cert: string }[];
}

export interface MdmTlsListenerOptions {
  host: string;
  port: number;
  material: MdmTlsMaterial;
  /** The REST server's router (fastify's `routing`): the same routes, hooks and error handling. */
  routing: (req: IncomingMessage, res: ServerResponse) => void;
  /** Idle time before a kept-alive connection is closed (the REST server's). */
  keepAliveTimeoutMs?: number;
}

export interface MdmTlsListener {
  address: AddressInfo;
  /** A re-issued server certificate, for new connections. */
  setMaterial(material: MdmTlsMaterial): void;
  close(): Promise<void>;
}

/** Only the Apple device endpoints are served here; the rest of the REST API stays on its own listener. */
const mdmPath = /^\/mdm(?:[/?]|$)/;

/**
 * The Apple MDM endpoints over HTTPS with client certificates (docs/DEVICE-MANAGEMENT.md, "Apple:
 * device identity"). The TLS layer asks every client for its certificate but lets the handshake
 * finish without one: what a certificate must prove (chained to an identity CA, not revoked,
 * pinned to the enrollment) is decided per request by the MDM routes, which then answer with the
 * documented status (401/403) instead of a bare TLS alert. A device identified by its certificate
 * need not sign its messages (profile SignMessage false); a signed request is accepted here too.
 */
export async function startMdmTlsListener(opts: MdmTlsListenerOptions): Promise<MdmTlsListener> {
  const context = (m: MdmTlsMaterial) => ({
    key: m.pairs.map((p) => p.key),
    cert: m.pairs.map((p) => p.cert),
    minVersion: 'TLSv1.2' as const,
  });
  const server: Server = createServer({ ...context(opts.material), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    if (!mdmPath.test(req.url ?? '')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('NotFound');
      return;
    }
    opts.routing(req, res);
  });
  // The routes keep a connection's certificate once read (mdm.routes.ts): it must not change under them.
  server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  if (opts.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = opts.keepAliveTimeoutMs;
  // Every TCP connection, from its first byte: `closeAllConnections` only knows those that finished
  // their TLS handshake, and one still in it (a slow or stalled client) held `close` for the whole
  // handshake timeout (two minutes), and the hub's shutdown with it.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const address = await listenOn(server, opts.host, opts.port);
  return {
    address,
    setMaterial: (m) => server.setSecureContext(context(m)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
}
