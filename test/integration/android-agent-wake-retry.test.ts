import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
 * Nor does it lose the result of an operation when the call carrying it fails: the server hands an
 * operation out once, so the agent keeps the result until a call delivers it (the benchmark's peer
 * round waited forever on one such command).
 * The wake-up travels the real way: the hub's FCM provider → the FCM simulator → the agent.
 */
const failures = ['a dropped connection', 'a 503 answer'] as const;
type Failure = (typeof failures)[number];

function fail(failure: Failure, req: IncomingMessage, res: ServerResponse): void {
  if (failure === 'a dropped connection') req.socket.destroy();
  else res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"busy"}');
}

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

  /**
   * The agent's side of the Android API in the hub's shape (enrollment, then pending-operations,
   * each call answered by `pending` with its body and 1-based number), an enrolled agent, and its
   * wake-up through the hub's FCM provider.
   */
  async function start(pending: (body: string, call: number, req: IncomingMessage, res: ServerResponse) => void) {
    let calls = 0;
    server = createServer((req, res) => {
      void bodyOf(req).then((body) => {
        if (req.method === 'POST' && req.url?.endsWith('/devices')) {
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ accessToken: 'agent-token' }));
          return;
        }
        pending(body, ++calls, req, res);
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
    const ended = new Promise<string>((resolve) => (agent.onWake = resolve));
    const provider = new FcmPushProvider({ account: parseServiceAccount(account.json), url: fcm.url, tokenUrl: fcm.tokenUrl });
    const outcome = await provider.wake({
      orgId: 'o',
      deviceType: 'android',
      deviceId: agent.deviceIdentifier,
      token: agent.fcmToken!,
      extra: {},
    });
    expect(outcome.kind).toBe('sent');
    return { agent, reported, ended, calls: () => calls };
  }

  const answer = (res: ServerResponse, ops: AgentOperation[]) =>
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(ops));
  const lockOf = (id: string): AgentOperation => ({
    id,
    code: 'DEVICE_LOCK',
    type: 'PROFILE',
    status: 'PENDING',
    payLoad: { message: 'lost?' },
  });
  const resultOf = (id: string) => [{ id, code: 'DEVICE_LOCK', status: 'COMPLETED', operationResponse: null }];

  it.each(failures)('retries after %s and completes the operation', async (failure) => {
    let reportedBack: unknown;
    const { agent, reported, ended, calls } = await start((body, call, req, res) => {
      if (call === 1) return fail(failure, req, res);
      if (call === 3) reportedBack = JSON.parse(body) as unknown;
      answer(res, call === 2 ? [lockOf('1001')] : []);
    });

    expect((await reported).id).toBe('1001');
    expect(await ended).toBe('served');
    expect(agent.locked).toBe(true);
    expect(agent.pushes).toBe(1);
    expect(calls()).toBe(3);
    expect(reportedBack).toEqual(resultOf('1001'));
  });

  it.each(failures)('keeps the results of a call that failed with %s and sends them with the next try', async (failure) => {
    const bodies: unknown[] = [];
    // Like the hub and the benchmark's peer, the server hands an operation out once.
    const { reported, ended } = await start((body, call, req, res) => {
      bodies.push(body ? (JSON.parse(body) as unknown) : null);
      // The call carrying the lock's result fails.
      if (call === 2) return fail(failure, req, res);
      answer(res, call === 1 ? [lockOf('1002')] : []);
    });

    expect((await reported).id).toBe('1002');
    expect(await ended).toBe('served');
    // The first call fetched the lock, the second (failed) and the third carried its result.
    expect(bodies).toEqual([null, resultOf('1002'), resultOf('1002')]);
  });
});

function bodyOf(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
  });
}
