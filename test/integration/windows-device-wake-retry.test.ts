import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WindowsDevice, WnsSimulator } from '@edgehub/simulators/windows';
import { ChannelOrigins } from '../../hub/src/push/wns/channel-uri.js';
import { WnsPushProvider } from '../../hub/src/push/wns/wns-provider.js';
import { WnsTokenSource } from '../../hub/src/push/wns/wns-token.js';

/**
 * The simulated Windows device (simulators/src/windows/windows-device.ts) does not lose a wake-up
 * when the management session it opens cannot reach the server: a dropped connection or a busy
 * answer (503) is tried again later, as a real device's DM client retries on its schedule; a
 * refusal (401) is not. The same defect lost wake-ups of the Android agent simulator under load.
 * The wake-up travels the real way: the hub's WNS provider → the WNS simulator → the device.
 */
const wnsClient = { clientId: 'ms-app://s-1-15-2-retry', clientSecret: 'retry-wns-secret' };
const LOCK = './Vendor/MSFT/RemoteLock/Lock';

describe('Windows device: a wake-up survives a failed management session', () => {
  let server: Server | undefined;
  let wns: WnsSimulator | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await wns?.stop();
    server = undefined;
    wns = undefined;
  });

  /** A management endpoint in the hub's shape: the session's opening message gets one Exec of Lock; `first` answers the first message instead. */
  async function start(first: (req: IncomingMessage, res: ServerResponse) => void) {
    const log = { messages: 0, lockStatus: undefined as string | undefined };
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        log.messages++;
        if (log.messages === 1) return first(req, res);
        const session = /<SessionID>([^<]+)<\/SessionID>/.exec(body)?.[1] ?? '1';
        const msgId = /<MsgID>([^<]+)<\/MsgID>/.exec(body)?.[1] ?? '1';
        const status = /<CmdRef>lock-1<\/CmdRef><Cmd>Exec<\/Cmd><Data>(\d+)<\/Data>/.exec(body)?.[1];
        if (status) log.lockStatus = status;
        const exec = body.includes('<Alert>')
          ? `<Exec><CmdID>lock-1</CmdID><Item><Target><LocURI>${LOCK}</LocURI></Target></Item></Exec>`
          : '';
        res.writeHead(200, { 'content-type': 'application/vnd.syncml.dm+xml' });
        res.end(
          `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>${session}</SessionID><MsgID>${msgId}</MsgID></SyncHdr><SyncBody><Status><CmdID>1</CmdID><MsgRef>${msgId}</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>${exec}<Final/></SyncBody></SyncML>`,
        );
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ManagementServer/MDM.svc`;
    wns = new WnsSimulator(wnsClient);
    await wns.start();
    const device = new WindowsDevice({ baseUrl: url, upn: 'retry@example.com', enrollmentSecret: 'x', wns, retryMs: 20 });
    device.provision(url, 'device-secret');
    const provider = new WnsPushProvider(new WnsTokenSource({ tokenUrl: wns.tokenUrl, ...wnsClient }), new ChannelOrigins([wns.origin]));
    const wake = () =>
      provider.wake({ orgId: 'o', deviceType: 'windows', deviceId: device.deviceId, token: device.channelUri!, extra: {} });
    return { device, wake, log };
  }

  it.each(['a dropped connection', 'a 503 answer'] as const)('opens a new session after %s and runs the command', async (failure) => {
    const { device, wake, log } = await start((req, res) => {
      if (failure === 'a dropped connection') req.socket.destroy();
      else res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
    });
    const locked = new Promise<void>((resolve) => device.on('command', (c) => c.targets.includes(LOCK) && resolve()));
    const ended = new Promise<string>((resolve) => device.once('wake', resolve));

    expect((await wake()).kind).toBe('sent');
    await locked;
    expect(await ended).toBe('served');

    expect(device.locked).toBe(true);
    expect(device.pushesReceived).toBe(1);
    expect(log.lockStatus).toBe('200');
    // The failed opening, then the retried session's opening and its status message.
    expect(log.messages).toBe(3);
  });

  it('does not retry a refusal (401): the credentials will not get better', async () => {
    const { device, wake, log } = await start((_req, res) => res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized'));
    const ended = new Promise<string>((resolve) => device.once('wake', resolve));

    expect((await wake()).kind).toBe('sent');
    expect(await ended).toBe('refused');
    expect(log.messages).toBe(1);
    expect(device.locked).toBe(false);
  });
});
