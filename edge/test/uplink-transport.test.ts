import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { openMqttClient } from '../src/uplink/transport.js';

/** The TLS socket the uplink makes itself for mqtts:// (src/uplink/transport.ts), as a TLS server sees its handshake. */
describe('uplink transport, mqtts://', () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  /** The server names (SNI) the client's handshakes to a TLS server on `host` carried. The server has no certificate, so each handshake fails once it has been read. */
  async function namesSentTo(host: string, tls?: Parameters<typeof openMqttClient>[2]): Promise<string[]> {
    const names: string[] = [];
    server = createServer({
      SNICallback: (name, done) => {
        names.push(name);
        done(new Error('no certificate here'));
      },
    });
    server.listen(0);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const client = openMqttClient(`mqtts://${host}:${port}`, { clientId: 'probe', reconnectPeriod: 0 }, tls);
    // (events.once would reject on the handshake's error; the close after it is what is awaited)
    await new Promise<void>((resolve) => {
      client.on('error', () => {});
      client.once('close', () => resolve());
    });
    client.end(true);
    return names;
  }

  it('names the host it connects to in the handshake, as mqtt.js does', async () => {
    expect(await namesSentTo('localhost')).toEqual(['localhost']);
  });

  it('sends the server name it was given instead, and none for an IP address', async () => {
    expect(await namesSentTo('localhost', { rejectUnauthorized: true, servername: 'hub.example' })).toEqual(['hub.example']);
    expect(await namesSentTo('127.0.0.1')).toEqual([]);
  });
});
