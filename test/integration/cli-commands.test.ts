import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { topics } from '@edgehub/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRunner, connectDevice, provision, startHub, type ProvisionedDevice, type RunningHub, type TestDevice } from '../src/index.js';

type Runner = ReturnType<typeof cliRunner>;

/** `command invoke|set|get|show|list|cancel` and `stream` against a real hub, answered by a real MQTT device. */
describe('edgehub CLI: commands and the stream', () => {
  let h: RunningHub;
  let dir: string;
  let cli: Runner;
  let device: ProvisionedDevice;
  let offline: ProvisionedDevice;
  let d: TestDevice;
  const name = (x: ProvisionedDevice) => `${x.productKey}/${x.deviceKey}`;

  /** The device answers each command the way a real one would (docs/ENOS-PROTOCOL.md §4.2). */
  function answer(dev: TestDevice) {
    dev.client.on('message', (topic, payload) => {
      const parsed = topics.parse(topic);
      if (!parsed || parsed.isReply) return;
      const msg = JSON.parse(payload.toString()) as { id: string; params: unknown };
      let data: unknown;
      if (parsed.kind === 'serviceInvoke') data = { echoed: msg.params, at: 'device' };
      else if (parsed.kind === 'measurepointSet') data = {};
      else if (parsed.kind === 'measurepointGet') data = Object.fromEntries((msg.params as string[]).map((id) => [id, id.length]));
      else return;
      void dev.client.publishAsync(topics.reply(topic), JSON.stringify({ id: msg.id, code: 200, data }), { qos: 0 });
    });
  }

  beforeAll(async () => {
    h = await startHub();
    dir = await mkdtemp(join(tmpdir(), 'edgehub-cli-cmd-'));
    cli = cliRunner(join(dir, 'credentials.json'));
    const login = await cli.run(['login', '--url', h.baseUrl, '--from-credentials', h.hub.credentialsPath]);
    expect(login.code, login.stderr).toBe(0);
    const product = await provision(h.admin, h.adminCreds.orgId, {
      productType: 'Device',
      deviceKeys: ['pump-1', 'pump-2'],
      product: {
        thingModel: {
          measurepoints: { speed: { dataType: 'INT' }, mode: { dataType: 'STRING' } },
          services: { restart: { inputData: { delay: { dataType: 'INT' } }, outputData: {} } },
        },
      },
    });
    [device, offline] = product.devices as [ProvisionedDevice, ProvisionedDevice];
    d = await connectDevice(h.mqttUrl, device);
    answer(d);
  });

  afterAll(async () => {
    await d?.end();
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('invokes a service, sets and gets measurepoints, and waits for the answers', async () => {
    const [invoke, set, get] = await Promise.all([
      cli.run(['--json', 'command', 'invoke', name(device), '--service', 'restart', '--input', 'delay=5']),
      cli.run([
        '--json',
        'command',
        'set',
        '--product',
        device.productKey,
        '--key',
        device.deviceKey,
        '--point',
        'speed',
        '--value',
        '1200',
      ]),
      cli.run(['--json', 'command', 'get', device.assetId, '--point', 'speed', '--point', 'mode']),
    ]);
    expect(invoke.code, invoke.stderr).toBe(0);
    expect(JSON.parse(invoke.stdout)).toMatchObject({ status: 'replied', outputData: { echoed: { delay: 5 }, at: 'device' } });
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ status: 'replied' });
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ outputData: { speed: 5, mode: 4 } });

    const { commandId } = JSON.parse(set.stdout) as { commandId: string };
    const show = await cli.run(['--json', 'command', 'show', commandId]);
    expect(JSON.parse(show.stdout)).toMatchObject({ commandId, kind: 'setMeasurepoint', measurepointId: 'speed', value: 1200 });
  });

  it('refuses what the thing model does not have with the hub error', async () => {
    const r = await cli.run(['command', 'set', name(device), '--point', 'colour', '--value', '"red"']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \d+: Invalid Argument measurepointId: colour is not a measurepoint/m);
  });

  it('caches a command for an offline device, lists it by status, and cancels it', async () => {
    const queued = await cli.run([
      '--json',
      'command',
      'invoke',
      name(offline),
      '--service',
      'restart',
      '--pending-ttl',
      '600',
      '--no-wait',
    ]);
    expect(queued.code, queued.stderr).toBe(0);
    const { commandId, status } = JSON.parse(queued.stdout) as { commandId: string; status: string };
    expect(status).toBe('pending');

    const [pending, mine] = await Promise.all([
      cli.run(['--json', 'command', 'list', '--status', 'pending']),
      cli.run(['--json', 'command', 'list', name(offline), '--kind', 'invokeService', '--all']),
    ]);
    expect(pending.code, pending.stderr).toBe(0);
    expect(mine.code, mine.stderr).toBe(0);
    expect((JSON.parse(pending.stdout) as { items: { commandId: string }[] }).items.map((c) => c.commandId)).toEqual([commandId]);
    expect((JSON.parse(mine.stdout) as { items: { commandId: string }[] }).items.map((c) => c.commandId)).toEqual([commandId]);

    const cancel = await cli.run(['command', 'cancel', commandId]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(`command ${commandId}: cancelled`);
    const again = await cli.run(['command', 'cancel', commandId]);
    expect(again.code).toBe(1);
  });

  it('follows a cached command until the device comes online and answers', async () => {
    const waiting = cli.run([
      '--json',
      'command',
      'invoke',
      name(offline),
      '--service',
      'restart',
      '--input',
      'delay=1',
      '--pending-ttl',
      '600',
    ]);
    // The command exists (pending) before the device connects: the CLI then waits on it.
    await expect
      .poll(async () => (await cli.run(['--json', 'command', 'list', name(offline), '--status', 'pending'])).stdout, { timeout: 20_000 })
      .toContain('"pending"');
    const late = await connectDevice(h.mqttUrl, offline);
    answer(late);
    try {
      const r = await waiting;
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'replied', reply: { code: 200, outputData: { echoed: { delay: 1 } } } });
    } finally {
      await late.end();
    }
  });

  it('tails the stream as one JSON line per event, filtered, and stops cleanly on Ctrl-C', async () => {
    const child = cli.start(['stream', '--device', name(device), '--type', 'measurepoints']);
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    let stderr = '';
    const connected = new Promise<void>((resolve) =>
      child.stderr.setEncoding('utf8').on('data', (s: string) => {
        stderr += s;
        if (stderr.includes('Ctrl-C to stop')) resolve();
      }),
    );
    await connected;
    // Another device's data, and an event of another type, are filtered out by the hub.
    const other = await connectDevice(h.mqttUrl, offline);
    try {
      await other.request(topics.measurepointPost(offline.productKey, offline.deviceKey), 'thing.measurepoint.post', {
        measurepoints: { speed: 1 },
      });
      await d.request(topics.measurepointPost(device.productKey, device.deviceKey), 'thing.measurepoint.post', {
        measurepoints: { speed: 42 },
      });
      const first = await lines.next();
      const event = JSON.parse(first.value as string) as { type: string; deviceKey: string };
      expect(event).toMatchObject({ type: 'measurepoints', deviceKey: device.deviceKey });
      expect(JSON.stringify(event)).toContain('42');
    } finally {
      await other.end();
    }
    const exited = once(child, 'close');
    child.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    expect(code, stderr).toBe(0);
  });
});
