import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IphoneAgent } from '@edgehub/simulators/apple';
import { startAppleSandbox, type AppleSandbox } from '@edgehub/simulators/apple/sandbox';
import { clientCredentialsToken, eventually, spawnHub, type AdminCredentials, type SpawnedHub } from '../src/index.js';

/**
 * docs/SECURITY.md, "Secrets at rest": the real hub binary seals the APNs push certificate's key
 * with HUB_SECRET_KEY, pushes with it, and a hub started on the same data with another key refuses
 * to start, saying why, without the key anywhere in its output.
 */
describe('the push certificate key sealed with HUB_SECRET_KEY, on the real hub binary', () => {
  let sandbox: AppleSandbox;
  let dataDir: string;
  let hub: SpawnedHub | undefined;
  const keyA = randomBytes(32).toString('base64');
  const keyB = randomBytes(32).toString('base64');
  /** The base64 body of the push key: what a reader of the data directory would find if it were stored in the clear. */
  let keyBody: string;

  const start = (secretKey: string, withPushFiles: boolean) =>
    spawnHub({
      HUB_DATA_DIR: dataDir,
      HUB_SECRET_KEY: secretKey,
      ...sandbox.env,
      // Without the files the hub reads the certificate it stored: the sealed key must open.
      ...(withPushFiles ? {} : { HUB_IOS_PUSH_CERT_FILE: '', HUB_IOS_PUSH_KEY_FILE: '' }),
      HUB_IOS_ORG_ID: '',
      LOG_LEVEL: 'info',
    });

  beforeAll(async () => {
    sandbox = await startAppleSandbox();
    dataDir = await mkdtemp(join(tmpdir(), 'ios-push-key-'));
    keyBody = sandbox.push.keyPem.split('\n').find((l) => l.length >= 60 && !l.startsWith('-----'))!;
  });
  afterAll(async () => {
    await hub?.stop();
    await sandbox?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a hub with the key pushes: a phone enrolled through a profile is woken and locked; the data directory holds no clear key', async () => {
    hub = await start(keyA, true);
    const creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
    const bearer = await clientCredentialsToken(hub.baseUrl, creds);
    const dm = (method: string, path: string, body?: unknown) =>
      fetch(`${hub!.baseUrl}/api/device-mgt/v1.0${path}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    const profile = await (
      await dm('POST', '/ios/enrollment-profile', { identity: { kind: 'scep', url: 'https://scep.example.com', challenge: 'c' } })
    ).text();
    const checkInUrl = /<key>CheckInURL<\/key>\s*<string>([^<]+)<\/string>/.exec(profile)![1]!.replace(/&amp;/g, '&');
    const phone = new IphoneAgent({
      serverUrl: `${hub.baseUrl}/mdm`,
      checkInUrl,
      topic: sandbox.topic,
      identity: await sandbox.phoneIdentity('sealed-key phone'),
      apns: sandbox.apns,
    });
    await phone.enroll();
    const pushes = sandbox.apns.count;
    expect(
      (await dm('POST', '/devices/ios/operations', { deviceIdentifiers: [phone.udid], operation: { code: 'DEVICE_LOCK', payload: {} } }))
        .status,
    ).toBe(201);
    await eventually(() => phone.locked, 30_000, 'the phone is woken through APNs and locked');
    expect(sandbox.apns.count).toBeGreaterThan(pushes);
    expect(hub.output()).not.toContain(keyBody);
    expect(hub.output()).not.toContain(keyA);
    expect(await hub.stop()).toBe(0);
    hub = undefined;
    for (const f of await readdir(dataDir, { recursive: true })) {
      const bytes = await readFile(join(dataDir, f)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(keyBody), `${f} holds the push key in the clear`).toBe(false);
    }
  });

  it('with another key the hub refuses to start, naming both key ids and neither key; with the right key it starts again', async () => {
    const refused = await start(keyB, false).then(
      () => undefined,
      (err: unknown) => String(err),
    );
    expect(refused).toMatch(/hub exited with 2/);
    expect(refused).toMatch(
      /configuration error: the APNs push certificate's private key cannot be opened: sealed with the secret key [0-9a-f]{16}, but the configured key is [0-9a-f]{16}/,
    );
    expect(refused).toMatch(/HUB_SECRET_KEY/);
    for (const secret of [keyA, keyB, keyBody, 'PRIVATE KEY']) expect(refused).not.toContain(secret);

    hub = await start(keyA, false);
    const creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
    const bearer = await clientCredentialsToken(hub.baseUrl, creds);
    const status = await fetch(`${hub.baseUrl}/api/device-mgt/v1.0/ios/push-certificate`, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    expect(await status.json()).toMatchObject({ topic: sandbox.topic });
  });
});
