import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig, openHub } from '@edgehub/hub';
import { IphoneAgent } from '../apple/index.js';
import { startAppleSandbox } from '../apple/sandbox.js';

/**
 * `npm run demo:ios`: a phone locked end to end on one machine (docs/DEVICE-MANAGEMENT.md, "Apple
 * MDM"). Starts an APNs simulator and a hub in a temporary directory, enrolls a simulated iPhone,
 * then the administrator locks it through the management REST and the demo prints each step.
 */
const topic = 'com.apple.mgmt.External.d3m0d3m0-0000-4000-8000-000000000001';
const step = (msg: string) => console.log(`  • ${msg}`);

async function main(): Promise<void> {
  const sandbox = await startAppleSandbox({ topic });
  const { apns } = sandbox;
  Object.assign(process.env, sandbox.env);
  const hub = await openHub(
    loadConfig({
      ...process.env,
      HUB_DATA_DIR: join(sandbox.dir, 'hub'),
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
      identity: await sandbox.phoneIdentity('Demo iPhone'),
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
    await sandbox.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
