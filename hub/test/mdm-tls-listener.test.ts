/**
 * The Apple MDM HTTPS listener (hub/src/device-types/ios/mdm-tls-listener.ts) closes at once, even
 * with a client that opened a connection and never finished its TLS handshake: the hub's shutdown
 * must not wait for the handshake timeout.
 */
import { connect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCa, issue } from '@edgehub/simulators/apple';
import { startMdmTlsListener, type MdmTlsMaterial } from '../src/device-types/ios/mdm-tls-listener.js';

describe('MDM TLS listener', () => {
  let material: MdmTlsMaterial;

  beforeAll(async () => {
    const server = await issue(await createCa('MDM server CA'), { subject: { CN: '127.0.0.1' }, ips: ['127.0.0.1'], server: true });
    material = { pairs: [{ key: server.keyPem, cert: server.certPem }] };
  });

  it('closes at once with a connection still in its TLS handshake, and drops that connection', async () => {
    const listener = await startMdmTlsListener({ host: '127.0.0.1', port: 0, material, routing: (_req, res) => res.end() });
    const stalled = connect(listener.address.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => stalled.once('connect', resolve).once('error', reject));
    const dropped = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
    // The client sends nothing: the server waits for its ClientHello.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = listener.close().then(() => 'closed');
    const late = new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000).unref());
    expect(await Promise.race([closed, late])).toBe('closed');
    await dropped;
  });
});
