/**
 * A bare Node TLS server for the `cert` group: the options of the hub's TLS listener
 * (hub/src/broker/listeners.ts: the same key and certificate, minVersion TLSv1.2, client
 * certificates requested and verified against the same CAs, `rejectUnauthorized: false`, TCP_NODELAY,
 * an in-memory revocation lookup per connection) and nothing behind it: no MQTT, no registry. The
 * gap between the hub and this server is what the hub adds to a handshake; the gap between this
 * server and `openssl s_server` is Node's own.
 *
 *   node --import tsx test/bench/cert-tls-server.ts <key.pem> <cert.pem> <ca-bundle.pem>
 *
 * Prints `listening <port>`; exits when its stdin closes.
 */
import { readFileSync } from 'node:fs';
import { createServer, type TLSSocket } from 'node:tls';

const [keyPath, certPath, caPath] = process.argv.slice(2);
if (!keyPath || !certPath || !caPath) throw new Error('usage: cert-tls-server.ts <key.pem> <cert.pem> <ca-bundle.pem>');
const revoked = new Set<string>();
let verified = 0;
let failed = 0;
let none = 0;

const server = createServer(
  {
    key: readFileSync(keyPath, 'utf8'),
    cert: readFileSync(certPath, 'utf8'),
    ca: readFileSync(caPath, 'utf8'),
    minVersion: 'TLSv1.2',
    requestCert: true,
    rejectUnauthorized: false,
  },
  (socket: TLSSocket) => {
    socket.setNoDelay(true);
    const peer = socket.getPeerCertificate();
    if (!peer.raw) none++;
    else if (socket.authorized) verified++;
    else failed++;
    if (peer.serialNumber && revoked.has(peer.serialNumber.toLowerCase())) {
      socket.destroy();
      return;
    }
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('end', () => socket.end());
  },
);
server.on('tlsClientError', (_err, socket) => socket.destroy());
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});

// Reports how many clients presented a chain that verified, one that did not, and none: the orchestrator checks none failed.
process.stdin.on('end', () => {
  process.stderr.write(`verified ${verified} failed ${failed} none ${none}\n`);
  process.exit(0);
});
process.stdin.resume();
