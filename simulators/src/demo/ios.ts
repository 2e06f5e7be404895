import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, openHub } from '@edgehub/hub';
import { ApnsSimulator, IphoneAgent, createCa, issue, issuePushCertificate } from '../apple/index.js';

/**
 * `npm run demo:ios`: a phone locked end to end on one machine (docs/DEVICE-MANAGEMENT.md, "Apple
 * MDM"). Starts an APNs simulator and a hub in a temporary directory, enrolls a simulated iPhone,
 * then the administrator locks it through the management REST and the demo prints each step.
 */
const topic = 'com.apple.mgmt.External.d3m0d3m0-0000-4000-8000-000000000001';
const step = (msg: string) => console.log(`  • ${msg}`);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'demo-ios-'));
  const [apple, serverCa, deviceCa] = await Promise.all([
    createCa('Apple (simulated)'),
    createCa('APNs server CA'),
    createCa('Device identity CA'),
  ]);
  const server = await issue(serverCa, { subject: { CN: 'localhost' }, ips: ['127.0.0.1'], server: true });
  const push = await issuePushCertificate(apple, topic);
  const apns = new ApnsSimulator({ certPem: server.certPem, keyPem: server.keyPem, clientCaPem: apple.certPem });
  await apns.start();
  const files = {
    ca: join(dir, 'apns-ca.pem'),
    identity: join(dir, 'identity-ca.pem'),
    cert: join(dir, 'push.pem'),
    key: join(dir, 'push.key'),
  };
  await writeFile(files.ca, serverCa.certPem);
  await writeFile(files.identity, deviceCa.certPem);
  await writeFile(files.cert, push.certPem);
  await writeFile(files.key, push.keyPem, { mode: 0o600 });
  Object.assign(process.env, {
    HUB_IOS_APNS_URL: apns.url,
    HUB_IOS_APNS_CA_FILE: files.ca,
    HUB_IOS_IDENTITY_CA_FILE: files.identity,
    HUB_IOS_PUSH_CERT_FILE: files.cert,
    HUB_IOS_PUSH_KEY_FILE: files.key,
  });
  const hub = await openHub(
    loadConfig({
      ...process.env,
      HUB_DATA_DIR: join(dir, 'hub'),
      HUB_HTTP_PORT: '0',
      HUB_MQTT_PORT: '0',
      HUB_MQTTS_PORT: '0',
      HUB_MQTT_WS_PORT: '0',
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
    }),
  );
  try {
    const at = await hub.listen();
    const baseUrl = `http://127.0.0.1:${at.http.port}`;
    const creds = JSON.parse(await readFile(hub.credentialsPath, 'utf8')) as { orgId: string; accessKey: string; accessSecret: string };
    process.env['HUB_IOS_ORG_ID'] = creds.orgId;
    console.log(`hub at ${baseUrl}, APNs simulator at ${apns.url}`);

    const phone = new IphoneAgent({
      serverUrl: `${baseUrl}/mdm`,
      topic,
      identity: await issue(deviceCa, { subject: { CN: 'Demo iPhone' } }),
      apns,
    });
    phone.on('executed', (e) => step(`the phone executed ${e.requestType} and answered ${e.status}`));
    await phone.enroll();
    step(`iPhone ${phone.serialNumber} enrolled (Authenticate + TokenUpdate), push token ${phone.tokenHex.slice(0, 12)}…`);

    const token = await fetch(`${baseUrl}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${creds.accessKey}:${creds.accessSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    const bearer = ((await token.json()) as { access_token: string }).access_token;
    const dm = (method: string, path: string, body?: unknown) =>
      fetch(`${baseUrl}/api/device-mgt/v1.0${path}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);

    const done = new Promise<void>((resolve) => phone.once('sessionEnd', () => resolve()));
    await dm('POST', '/devices/ios/operations', {
      deviceIdentifiers: [phone.udid],
      operation: { code: 'DEVICE_LOCK', payload: { Message: 'This phone was reported lost. Call IT.' } },
    });
    step('administrator: POST /api/device-mgt/v1.0/devices/ios/operations DEVICE_LOCK');
    await done;
    step(`APNs simulator received ${apns.count} push(es) with {"mdm": PushMagic}`);
    const ops = await dm('GET', `/devices/ios/${phone.udid}/operations`);
    for (const op of (ops['operations'] as Record<string, unknown>[]) ?? [])
      step(`operation ${String(op['code'])}: ${String(op['status'])}`);
    console.log(phone.locked ? 'The phone is locked.' : 'The phone is NOT locked.');
  } finally {
    await hub.close();
    await apns.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
