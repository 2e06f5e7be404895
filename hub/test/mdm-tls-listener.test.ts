/**
 * The Apple MDM HTTPS listener (hub/src/device-types/ios/mdm-tls-listener.ts) closes at once, even
 * with a client that opened a connection and never finished its TLS handshake: the hub's shutdown
 * must not wait for the handshake timeout.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMdmTlsListener, type MdmTlsMaterial } from '../src/device-types/ios/mdm-tls-listener.js';

const run = promisify(execFile);

describe('MDM TLS listener', () => {
  let dir: string;
  let material: MdmTlsMaterial;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mdm-tls-listener-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
    ]);
    material = { pairs: [{ key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') }] };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
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
