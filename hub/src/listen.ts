import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

/**
 * Listens on host:port; resolves with the bound address, rejects with the listen error (EADDRINUSE:
 * port-in-use.ts words it for the operator). Shared by the MQTT listeners and the Apple MDM TLS listener.
 */
export function listenOn(server: NetServer | TlsServer | HttpServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
