import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AndroidAgent, FcmSimulator, createServiceAccount, type AgentOperation } from '@edgehub/simulators/android';
import { FcmPushProvider } from '../../hub/src/push/fcm/fcm-provider.js';
import { parseServiceAccount } from '../../hub/src/push/fcm/service-account.js';

/**
 * The simulated Android agent (simulators/src/android/android-agent.ts) does not lose a wake-up when
 * the poll it triggers cannot reach the server: a dropped connection or a busy answer (503) is tried
 * again later, as the real agent's periodic poll would catch up. Found when 10,000 agents woken at
 * once overran the Android benchmark's peer: ~300 wake-ups were dropped and the run never ended.
 * The wake-up travels the real way: the hub's FCM provider → the FCM simulator → the agent.
 */
describe('Android agent: a wake-up survives a failed poll', () => {
  let server: Server | undefined;
  let fcm: FcmSimulator | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await fcm?.stop();
    server = undefined;
    fcm = undefined;
  });

  it.each(['a dropped connection', 'a 503 answer'] as const)('retries after %s and completes the operation', async (failure) => {
    const lock: AgentOperation = { id: '1001', code: 'DEVICE_LOCK', type: 'PROFILE', status: 'PENDING', payLoad: { message: 'lost?' } };
    let pendingCalls = 0;
    let reportedBack: unknown;
    // The agent's side of the Android API, in the hub's shape: enrollment, then pending-operations.
    server = createServer((req, res) => {
      void bodyOf(req).then((body) => {
        if (req.method === 'POST' && req.url?.endsWith('/devices')) {
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ accessToken: 'agent-token' }));
          return;
        }
        pendingCalls++;
        if (pendingCalls === 1) {
          if (failure === 'a dropped connection') req.socket.destroy();
          else res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"busy"}');
          return;
        }
        if (pendingCalls === 3) reportedBack = JSON.parse(body) as unknown;
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(pendingCalls === 2 ? [lock] : []));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    fcm = new FcmSimulator();
    await fcm.start();
    const account = createServiceAccount('agent-retry', fcm.tokenUrl);
    fcm.addServiceAccount(account);
    const agent = new AndroidAgent({ baseUrl, oauthToken: 'org-token', fcm, deviceIdentifier: '350000000000042', retryMs: 20 });
    await agent.enroll();
    const reported = new Promise<AgentOperation>((resolve) => (agent.onReported = resolve));

    const provider = new FcmPushProvider({ account: parseServiceAccount(account.json), url: fcm.url, tokenUrl: fcm.tokenUrl });
    const outcome = await provider.wake({
      orgId: 'o',
      deviceType: 'android',
      deviceId: agent.deviceIdentifier,
      token: agent.fcmToken!,
      extra: {},
    });
    expect(outcome.kind).toBe('sent');

    expect((await reported).id).toBe('1001');
    expect(agent.locked).toBe(true);
    expect(agent.pushes).toBe(1);
    expect(pendingCalls).toBe(3);
    expect(reportedBack).toEqual([{ id: '1001', code: 'DEVICE_LOCK', status: 'COMPLETED', operationResponse: null }]);
  });

  it.each(['a dropped connection', 'a 503 answer'] as const)(
    'keeps the results of a call that failed with %s and sends them with the next try',
    async (failure) => {
      const lock: AgentOperation = { id: '1002', code: 'DEVICE_LOCK', type: 'PROFILE', status: 'PENDING', payLoad: { message: 'kept?' } };
      const bodies: unknown[] = [];
      // Like the hub and the benchmark's peer, the server hands an operation out once; the agent must keep its result until one call delivers it.
      server = createServer((req, res) => {
        void bodyOf(req).then((body) => {
          if (req.method === 'POST' && req.url?.endsWith('/devices')) {
            res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ accessToken: 'agent-token' }));
            return;
          }
          bodies.push(body ? (JSON.parse(body) as unknown) : null);
          if (bodies.length === 2) {
            // The call carrying the lock's result fails.
            if (failure === 'a dropped connection') req.socket.destroy();
            else res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"busy"}');
            return;
          }
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(bodies.length === 1 ? [lock] : []));
        });
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      fcm = new FcmSimulator();
      await fcm.start();
      const account = createServiceAccount('agent-retry', fcm.tokenUrl);
      fcm.addServiceAccount(account);
      const agent = new AndroidAgent({ baseUrl, oauthToken: 'org-token', fcm, deviceIdentifier: '350000000000043', retryMs: 20 });
      await agent.enroll();
      const reported = new Promise<AgentOperation>((resolve) => (agent.onReported = resolve));
      const ended = new Promise<string>((resolve) => (agent.onWake = resolve));

      const provider = new FcmPushProvider({ account: parseServiceAccount(account.json), url: fcm.url, tokenUrl: fcm.tokenUrl });
      expect(
        (await provider.wake({ orgId: 'o', deviceType: 'android', deviceId: agent.deviceIdentifier, token: agent.fcmToken!, extra: {} }))
          .kind,
      ).toBe('sent');

      expect((await reported).id).toBe('1002');
      expect(await ended).toBe('served');
      const result = [{ id: '1002', code: 'DEVICE_LOCK', status: 'COMPLETED', operationResponse: null }];
      // The first call fetched the lock, the second (failed) and the third carried its result.
      expect(bodies).toEqual([null, result, result]);
    },
  );
});

function bodyOf(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
  });
}
