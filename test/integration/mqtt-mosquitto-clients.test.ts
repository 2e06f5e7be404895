import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'aedes';
import { topics } from '@edgehub/shared';
import { pushTo } from '../../hub/src/sessions/push.js';
import {
  connectPassword,
  newTenant,
  provision,
  startHub,
  wentOnline,
  type DeviceCredentials,
  type Digest,
  type ProvisionedDevice,
  type ProvisionedProduct,
  type RunningHub,
} from '../src/index.js';

/**
 * The hub against a client it was not written with: the Debian `mosquitto_pub` / `mosquitto_sub`
 * (libmosquitto, MQTT 3.1.1), spawned as real processes with an argument array (no shell).
 * They stand for the non-SDK devices of docs/ENOS-PROTOCOL.md §2.2: whoever computes the signature
 * by hand and types it into a generic MQTT client.
 */

const CLIENTS = ['mosquitto_pub', 'mosquitto_sub'] as const;
const missing = CLIENTS.filter((cmd) => spawnSync(cmd, ['--help'], { stdio: 'ignore' }).error !== undefined);
const inCi = process.env['CI'] === 'true';
const missingMessage = `${missing.join(' and ')} not found on PATH: install the Debian package mosquitto-clients`;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a client to completion; killed after `timeoutMs` so a hung hub fails the test instead of hanging it. */
function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<Exit> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The §2.2 CONNECT fields of a device, signed here (not by the hub's code). */
function enosLogin(d: DeviceCredentials, o: { digest?: Digest; upperCase?: boolean } = {}) {
  const ts = String(Date.now());
  const digest = o.digest ?? 'sha256';
  const signed = connectPassword(d.deviceKey, d, ts, digest);
  return {
    clientId: `${d.deviceKey}|securemode=2,signmethod=${digest},timestamp=${ts}|`,
    username: `${d.deviceKey}&${d.productKey}`,
    password: o.upperCase ? signed.toUpperCase() : signed,
  };
}

function loginArgs(login: ReturnType<typeof enosLogin>): string[] {
  return ['-V', 'mqttv311', '-i', login.clientId, '-u', login.username, '-P', login.password];
}

const skip = missing.length > 0 && !inCi;
if (skip) console.warn(`skipping the mosquitto client tests: ${missingMessage}`);

describe.skipIf(skip)(`mosquitto_pub and mosquitto_sub against the hub${skip ? ` (skipped: ${missingMessage})` : ''}`, () => {
  let h: RunningHub;
  let p: ProvisionedProduct;
  const device = (i: number): ProvisionedDevice => p.devices[i]!;
  const plain = () => ['-h', '127.0.0.1', '-p', String(h.mqttPort)];

  beforeAll(async () => {
    // In CI a missing client is a broken runner, not a reason to skip (the suite would pass vacuously).
    if (missing.length > 0) throw new Error(`CI=true but ${missingMessage} (.ci/run installs it)`);
    h = await startHub();
    const t = await newTenant(h, 'mosquitto');
    p = await provision(t.client, t.orgId, { productType: 'Device', deviceKeys: Array.from({ length: 10 }, (_, i) => `mosq-${i}`) });
  });
  afterAll(async () => {
    await h?.close();
  });

  const variants: [Digest, boolean][] = [
    ['sha256', false],
    ['sha256', true],
    ['sha1', false],
    ['sha1', true],
    ['md5', false],
    ['md5', true],
  ];
  variants.forEach(([digest, upperCase], i) => {
    it(`accepts a mosquitto_pub signed with ${digest} in ${upperCase ? 'upper' : 'lower'}-case hex and ingests its measurepoint`, async () => {
      const d = device(i);
      const value = 20 + i + 0.5;
      const body = JSON.stringify({
        id: '1',
        version: '1.0',
        method: 'thing.measurepoint.post',
        params: { measurepoints: { temp: value } },
      });
      // -q 1: mosquitto_pub exits only after the PUBACK, and the hub acknowledges after ingesting.
      const r = await run('mosquitto_pub', [
        ...plain(),
        ...loginArgs(enosLogin(d, { digest, upperCase })),
        '-q',
        '1',
        '-t',
        topics.measurepointPost(d.productKey, d.deviceKey),
        '-m',
        body,
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect((await h.hub.telemetry.latest(d.assetId))?.measurepoints['temp']?.value).toBe(value);
    });
  });

  it('routes a PUBLISH sent the moment the CONNACK arrives, for every one of 10 back-to-back connections', async () => {
    // mosquitto_pub publishes from its on_connect callback, with no pause after the CONNACK: the
    // hub must route that PUBLISH exactly like a later one (ingest, reply), not just acknowledge it.
    const d = device(9);
    for (let i = 0; i < 10; i++) {
      const body = JSON.stringify({
        id: String(i),
        version: '1.0',
        method: 'thing.measurepoint.post',
        params: { measurepoints: { temp: i } },
      });
      const r = await run('mosquitto_pub', [
        ...plain(),
        ...loginArgs(enosLogin(d)),
        '-q',
        '1',
        '-t',
        topics.measurepointPost(d.productKey, d.deviceKey),
        '-m',
        body,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect((await h.hub.telemetry.latest(d.assetId))?.measurepoints['temp']?.value, `connection ${i + 1} of 10`).toBe(i);
    }
  });

  it('refuses a mosquitto_pub with a bad signature: CONNACK 4, non-zero exit, nothing ingested', async () => {
    const d = device(6);
    const login = enosLogin({ ...d, secret: 'not-the-secret' });
    const r = await run('mosquitto_pub', [
      ...plain(),
      ...loginArgs(login),
      '-q',
      '1',
      '-t',
      topics.measurepointPost(d.productKey, d.deviceKey),
      '-m',
      '{"id":"1","version":"1.0","method":"thing.measurepoint.post","params":{"measurepoints":{"temp":1}}}',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Connection Refused: bad user name or password');
    expect(await h.hub.telemetry.latest(d.assetId)).toBeUndefined();
  });

  it('delivers a command pushed by the hub to a mosquitto_sub device subscribed to its own service topics', async () => {
    const d = device(7);
    const login = enosLogin(d);
    const filter = `/sys/${d.productKey}/${d.deviceKey}/thing/service/#`;
    // The hub's answer to the SUBSCRIBE is the event to wait on: no sleeping for the client to settle.
    const granted = new Promise<number | undefined>((resolve) => {
      const on = (subs: { topic: string; qos: number }[], client: Client) => {
        // The broker keys sessions on the authenticated device, not on the ClientId text.
        if (client.id !== `device/${d.productKey}/${d.deviceKey}`) return;
        h.hub.broker.aedes.off('subscribe', on);
        resolve(subs.find((s) => s.topic === filter)?.qos);
      };
      h.hub.broker.aedes.on('subscribe', on);
    });
    const online = wentOnline(h, d.assetId);
    const exit = run('mosquitto_sub', [...plain(), ...loginArgs(login), '-C', '1', '-W', '10', '-v', '-t', filter]);
    const first = await Promise.race([Promise.all([online, granted]).then(([, qos]) => ({ qos })), exit.then((early) => ({ early }))]);
    if ('early' in first) throw new Error(`mosquitto_sub exited before subscribing (${first.early.code}): ${first.early.stderr}`);
    // A device may subscribe below its own keys with wildcards (§4.3); 128 would be a refusal.
    expect(first.qos).toBe(0);

    const session = h.hub.broker.sessions.ofDevice(d.productKey, d.deviceKey);
    expect(session).toBeDefined();
    const topic = topics.serviceInvoke(d.productKey, d.deviceKey, 'sample.echo');
    const command = { id: '1700000000123', version: '1.0', method: 'thing.service.sample.echo', params: { text: 'hello' } };
    await pushTo(session!, topic, command);

    const r = await exit;
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${topic} ${JSON.stringify(command)}`);
  });

  it('accepts mosquitto_pub over TLS, verifying the hub certificate against its CA', async () => {
    const d = device(8);
    const body = JSON.stringify({ id: '1', version: '1.0', method: 'thing.measurepoint.post', params: { measurepoints: { temp: 42.25 } } });
    const r = await run('mosquitto_pub', [
      '--cafile',
      h.tlsCaPath,
      '-h',
      'localhost',
      '-p',
      String(h.mqttsPort),
      ...loginArgs(enosLogin(d)),
      '-q',
      '1',
      '-t',
      topics.measurepointPost(d.productKey, d.deviceKey),
      '-m',
      body,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await h.hub.telemetry.latest(d.assetId))?.measurepoints['temp']?.value).toBe(42.25);
  });
});
