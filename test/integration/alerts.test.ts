import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { loadConfig, type ApiClient } from '@edgehub/hub';
import { connectDevice, newTenant, provision, startHub, type ProvisionedDevice, type RunningHub, type TestDevice } from '../src/index.js';

type Alert = {
  alertId: string;
  ruleId: string;
  status: string;
  triggerValue: unknown;
  recoverValue?: unknown;
  severity: string;
  closedBy?: string;
};
type Hook = { body: string; json: { change: string; alert: Alert }; signature: string };

const T = 1_700_000_000_000;

/** A real HTTP webhook receiver; `respond` decides each request's answer (a held promise keeps it hanging). */
class Receiver {
  readonly hooks: Hook[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  respond: (req: IncomingMessage, res: ServerResponse) => void | Promise<void> = (_q, res) => void res.writeHead(204).end();
  server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        void (async () => {
          await this.respond(req, res);
          if (res.statusCode < 300) {
            this.hooks.push({ body, json: JSON.parse(body) as Hook['json'], signature: String(req.headers['x-edgehub-signature']) });
            this.waiters = this.waiters.filter((w) => (this.hooks.length >= w.n ? (w.resolve(), false) : true));
          }
        })();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook?token=abc`;
  }

  /** Resolves once at least n deliveries were accepted. */
  received(n: number): Promise<void> {
    if (this.hooks.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

function verify(secret: string, hook: Hook): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(hook.signature);
  if (!m) return false;
  return createHmac('sha256', secret).update(`${m[1]}.${hook.body}`).digest('hex') === m[2];
}

/**
 * Alerts through a real hub: a real device posts measurepoints; rules open one alert when a value
 * crosses the threshold and close it on recovery; a real HTTP receiver gets both, signed.
 */
describe('alerts', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let d: ProvisionedDevice;
  let dev: TestDevice;
  const receiver = new Receiver();
  const flaky = new Receiver();

  const post = (measurepoints: Record<string, unknown>, time: number) =>
    dev.request(topics.measurepointPost(d.productKey, d.deviceKey), 'thing.measurepoint.post', { measurepoints, time });
  const createRule = (body: Record<string, unknown>) =>
    c.ok<{ ruleId: string; webhookSecret?: string }>(
      'POST',
      '/connect-service/v2.1/alert-rules',
      { action: 'create', orgId },
      { productKey: d.productKey, ...body },
    );
  const search = async (body: Record<string, unknown>) =>
    (await c.ok<Alert[]>('POST', '/connect-service/v2.1/alerts', { action: 'search', orgId }, body)).data;

  beforeAll(async () => {
    await Promise.all([receiver.start(), flaky.start()]);
    h = await startHub({ deviceProtocol: { ...loadConfig({}).deviceProtocol, alertWebhookAttempts: 4, alertWebhookBackoffMs: 20 } });
    ({ client: c, orgId } = await newTenant(h, 'alerts'));
    d = (
      await provision(c, orgId, {
        productType: 'Device',
        deviceKeys: ['boiler'],
        product: {
          thingModel: { measurepoints: { temp: { dataType: 'DOUBLE' }, pressure: { dataType: 'DOUBLE' }, mode: { dataType: 'STRING' } } },
        },
      })
    ).devices[0]!;
    dev = await connectDevice(h.mqttUrl, d);
  });
  afterAll(async () => {
    await dev?.end();
    await h?.close();
    await Promise.all([receiver.close(), flaky.close()]);
  });

  it('evaluates a rule created after posts that met no rule (the engine skips those without queueing them)', async () => {
    // No rule yet: the product's empty rule list is now cached, and this post is skipped.
    expect((await post({ pressure: 50 }, T - 10_000)).code).toBe(200);
    await h.hub.alerts.settled();
    const rule = await createRule({
      name: 'pressure',
      severity: 'warning',
      source: { measurepoint: 'pressure' },
      trigger: { op: 'gt', value: 10 },
    });
    expect((await post({ pressure: 20 }, T - 9_000)).code).toBe(200);
    await h.hub.alerts.settled();
    const open = await search({ ruleId: rule.data.ruleId });
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ status: 'open', triggerValue: 20 });
  });

  it('opens one alert while the value stays above the threshold, closes it on recovery, and signs both webhooks', async () => {
    const rule = await createRule({
      name: 'overheat',
      severity: 'major',
      source: { measurepoint: 'temp' },
      trigger: { op: 'gt', value: 80 },
      recovery: { op: 'lt', value: 70 },
      webhookUrl: receiver.url,
    });
    const secret = rule.data.webhookSecret!;
    expect(secret).toBeTruthy();
    const streamed: { change: string }[] = [];
    const unsubscribe = await h.hub.stream.subscribe(`org/${orgId}/devices/${d.productKey}/${d.deviceKey}/alerts`, (e) =>
      streamed.push(e as unknown as { change: string }),
    );

    let t = T;
    for (const temp of [50, 85, 90, 95, 75]) expect((await post({ temp }, (t += 1000))).code).toBe(200);
    await h.hub.alerts.settled();
    const open = await search({ ruleId: rule.data.ruleId });
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ status: 'open', triggerValue: 85, severity: 'major' });

    expect((await post({ temp: 65 }, t + 1000)).code).toBe(200);
    await receiver.received(2);
    const closed = await search({ ruleId: rule.data.ruleId });
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ status: 'closed', closedBy: 'recovery', recoverValue: 65 });
    expect(receiver.hooks.map((k) => k.json.change)).toEqual(['opened', 'closed']);
    expect(receiver.hooks.every((k) => verify(secret, k))).toBe(true);
    expect(verify('wrong secret', receiver.hooks[0]!)).toBe(false);
    expect(streamed.map((e) => e.change)).toEqual(['opened', 'closed']);
    await unsubscribe();

    // The secret is shown once: listing rules never returns it.
    const listed = await c.ok<Record<string, unknown>[]>('GET', '/connect-service/v2.1/alert-rules', {
      action: 'list',
      orgId,
      productKey: d.productKey,
    });
    expect(listed.data.every((r) => !('webhookSecret' in r))).toBe(true);
  });

  it('opens a duration rule only after the value held for the duration (by the data timestamps)', async () => {
    const rule = await createRule({
      name: 'pressure held',
      severity: 'warning',
      source: { measurepoint: 'pressure' },
      trigger: { op: 'gte', value: 10 },
      durationSeconds: 60,
    });
    expect((await post({ pressure: 12 }, T + 100_000)).code).toBe(200);
    expect((await post({ pressure: 12 }, T + 130_000)).code).toBe(200);
    await h.hub.alerts.settled();
    expect(await search({ ruleId: rule.data.ruleId })).toEqual([]);
    expect((await post({ pressure: 13 }, T + 161_000)).code).toBe(200);
    await h.hub.alerts.settled();
    expect(await search({ ruleId: rule.data.ruleId })).toMatchObject([{ status: 'open', triggerValue: 13 }]);
  });

  it('acknowledges and closes by hand; a state rule on a string value', async () => {
    const rule = await createRule({
      name: 'manual mode',
      severity: 'info',
      source: { measurepoint: 'mode' },
      trigger: { op: 'eq', value: 'manual' },
    });
    expect((await post({ mode: 'manual' }, T + 200_000)).code).toBe(200);
    await h.hub.alerts.settled();
    const [a] = await search({ ruleId: rule.data.ruleId });
    expect(
      (await c.ok<Alert>('POST', '/connect-service/v2.1/alerts', { action: 'acknowledge', orgId, alertId: a!.alertId })).data.status,
    ).toBe('acknowledged');
    expect((await c.ok<Alert>('POST', '/connect-service/v2.1/alerts', { action: 'close', orgId, alertId: a!.alertId })).data).toMatchObject(
      { status: 'closed', closedBy: 'manual' },
    );
    const other = await newTenant(h, 'intruder');
    expect(
      (await other.client.call('POST', '/connect-service/v2.1/alerts', { action: 'close', orgId: other.orgId, alertId: a!.alertId })).code,
    ).toBe(99404);
  });

  it('retries a webhook that is down without holding up ingestion', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    // First call hangs until released and then fails; the second fails fast; the third succeeds.
    flaky.respond = async (_req, res) => {
      calls++;
      if (calls === 1) {
        await held;
        res.writeHead(503).end();
      } else if (calls === 2) res.writeHead(500).end();
      else res.writeHead(200).end();
    };
    await createRule({
      name: 'hot again',
      severity: 'critical',
      source: { measurepoint: 'temp' },
      trigger: { op: 'gt', value: 120 },
      webhookUrl: flaky.url,
    });
    expect((await post({ temp: 130 }, T + 300_000)).code).toBe(200);
    // Ingestion goes on while the receiver holds the first delivery.
    for (let i = 1; i <= 20; i++) expect((await post({ temp: 130 + i }, T + 300_000 + i)).code).toBe(200);
    expect(flaky.hooks).toHaveLength(0);
    release();
    await flaky.received(1);
    expect(calls).toBe(3);
    expect(flaky.hooks[0]!.json).toMatchObject({ change: 'opened', alert: { triggerValue: 130 } });
  });

  it('refuses malformed rules with 99400', async () => {
    const bad = (body: Record<string, unknown>) =>
      c.call(
        'POST',
        '/connect-service/v2.1/alert-rules',
        { action: 'create', orgId },
        {
          productKey: d.productKey,
          name: 'x',
          severity: 'major',
          source: { measurepoint: 'temp' },
          trigger: { op: 'gt', value: 1 },
          ...body,
        },
      );
    expect((await bad({ trigger: { op: 'between', value: 1 } })).code).toBe(99400);
    expect((await bad({ severity: 'apocalyptic' })).code).toBe(99400);
    expect((await bad({ webhookUrl: 'ftp://example.com/x' })).code).toBe(99400);
    expect((await bad({ source: { measurepoint: 'temp', eventId: 'e' } })).code).toBe(99400);
  });
});
