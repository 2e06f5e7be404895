import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import plist from 'plist';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApnsSimulator, IphoneAgent, createCa, issue, issuePushCertificate, type Identity, type SimCa } from '@edgehub/simulators/apple';
import { ApnsClient } from '../../hub/src/push/apns/apns-client.js';

/**
 * The simulated iPhone (simulators/src/apple/iphone-agent.ts) does not lose a wake-up when the
 * check-in session it opens cannot reach the server: a dropped connection or a busy answer (503)
 * is tried again later, as a real phone's MDM client comes back; a refusal (401) is not. The same
 * defect lost wake-ups of the Android agent simulator under load. The wake-up travels the real way:
 * the hub's APNs client → the APNs simulator → the phone.
 */
const topic = 'com.apple.mgmt.External.11111111-2222-3333-4444-555555555555';

describe('iPhone agent: a wake-up survives a failed check-in session', () => {
  let apns: ApnsSimulator;
  let client: ApnsClient;
  let deviceCa: SimCa;
  let identity: Identity;
  let server: Server | undefined;

  beforeAll(async () => {
    const [apple, serverCa] = await Promise.all([createCa('Apple (sim)'), createCa('APNs server CA')]);
    deviceCa = await createCa('device CA');
    const [tlsServer, push] = await Promise.all([
      issue(serverCa, { subject: { CN: 'localhost' }, ips: ['127.0.0.1'], server: true }),
      issuePushCertificate(apple, topic),
    ]);
    identity = await issue(deviceCa, { subject: { CN: 'retry-phone' } });
    apns = new ApnsSimulator({ certPem: tlsServer.certPem, keyPem: tlsServer.keyPem, clientCaPem: apple.certPem });
    await apns.start();
    client = new ApnsClient({ url: apns.url, certPem: push.certPem, keyPem: push.keyPem, caPem: serverCa.certPem });
  });
  afterAll(async () => {
    await client.close();
    await apns.stop();
  });
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** A command endpoint in the hub's shape: Idle gets a DeviceLock, its result an empty answer; `first` answers the first PUT instead. */
  async function start(first: (req: IncomingMessage, res: ServerResponse) => void) {
    const log = { puts: 0, lockStatus: undefined as string | undefined };
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        log.puts++;
        if (log.puts === 1) return first(req, res);
        const report = plist.parse(body) as Record<string, unknown>;
        if (report['Status'] === 'Idle') {
          res.writeHead(200, { 'content-type': 'application/xml' });
          res.end(plist.build({ CommandUUID: 'lock-1', Command: { RequestType: 'DeviceLock' } }));
          return;
        }
        if (report['CommandUUID'] === 'lock-1') log.lockStatus = report['Status'] as string;
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mdm`;
    const phone = new IphoneAgent({ serverUrl, topic, identity, apns, retryMs: 20 });
    phone.on('error', () => undefined);
    phone.attachPush();
    const wake = () => client.push({ tokenHex: phone.tokenHex, pushMagic: phone.pushMagic, topic });
    return { phone, wake, log };
  }

  it.each(['a dropped connection', 'a 503 answer'] as const)('checks in again after %s and runs the command', async (failure) => {
    const { phone, wake, log } = await start((req, res) => {
      if (failure === 'a dropped connection') req.socket.destroy();
      else res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
    });
    const locked = new Promise<void>((resolve) => phone.on('executed', (c) => c.requestType === 'DeviceLock' && resolve()));
    const ended = new Promise<string>((resolve) => phone.once('wake', resolve));

    expect((await wake()).kind).toBe('sent');
    await locked;
    expect(await ended).toBe('served');

    expect(phone.locked).toBe(true);
    expect(log.lockStatus).toBe('Acknowledged');
    // The failed Idle, then the retried session's Idle and its result.
    expect(log.puts).toBe(3);
  });

  it('does not retry a refusal (401): the identity will not get better', async () => {
    const { phone, wake, log } = await start((_req, res) => res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized'));
    const ended = new Promise<string>((resolve) => phone.once('wake', resolve));

    expect((await wake()).kind).toBe('sent');
    expect(await ended).toBe('refused');
    expect(log.puts).toBe(1);
    expect(phone.locked).toBe(false);
  });
});
