import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Edge, loadEdgeConfig, modbusSouthbound, startConfigCenter } from '@edgehub/edge';
import { ApiClient, loadConfig, openHub, portInUseMessage } from '@edgehub/hub';
import { pino } from 'pino';
import { energyStorageMap, fanMap, inverterMap, startSimulator } from '../index.js';

/**
 * `npm run demo`: the seed scenario on one machine. Starts the hub (embedded store under
 * ./data-demo), three Modbus TCP simulators, and an edge that registers them dynamically, then
 * prints the latest values the hub holds every two seconds. Ctrl-C stops everything.
 */
async function main(): Promise<void> {
  const dataDir = resolve(process.env['DEMO_DATA_DIR'] ?? 'data-demo');
  const hub = await openHub(loadConfig({ ...process.env, HUB_DATA_DIR: dataDir, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn' }));
  const at = await hub.listen();
  const baseUrl = `http://127.0.0.1:${at.http.port}`;
  const mqttUrl = `mqtt://127.0.0.1:${at.mqtt!.port}`;
  const creds = JSON.parse(await readFile(hub.credentialsPath, 'utf8')) as { orgId: string; accessKey: string; accessSecret: string };
  const api = new ApiClient({ baseUrl, accessKey: creds.accessKey, accessSecret: creds.accessSecret });
  const orgId = creds.orgId;

  // The org engineer's part: a gateway product and device, and the sub-devices' product.
  const edgeDir = join(dataDir, 'edge');
  await mkdir(edgeDir, { recursive: true, mode: 0o700 });
  const stateFile = join(edgeDir, 'demo-products.json');
  let products: { gwPk: string; gwSecret: string; subPk: string };
  try {
    products = JSON.parse(await readFile(stateFile, 'utf8')) as typeof products;
  } catch {
    const gwPk = (
      await api.ok<string>(
        'POST',
        '/connect-service/v2.1/products',
        { action: 'create', orgId },
        { productName: { defaultValue: 'Demo edge gateway' }, productType: 'Gateway', dataFormat: 'Json', biDirectionalAuth: false },
      )
    ).data;
    const subPk = (
      await api.ok<string>(
        'POST',
        '/connect-service/v2.1/products',
        { action: 'create', orgId },
        { productName: { defaultValue: 'Demo field devices' }, productType: 'Device', dataFormat: 'Json', biDirectionalAuth: false },
      )
    ).data;
    const gw = (
      await api.ok<{ deviceSecret: string }>(
        'POST',
        '/connect-service/v2.1/devices',
        { action: 'create', orgId },
        { productKey: gwPk, deviceKey: 'demo-edge', timezone: '+00:00', deviceName: { defaultValue: 'Demo edge' } },
      )
    ).data;
    products = { gwPk, gwSecret: gw.deviceSecret, subPk };
    await writeFile(stateFile, JSON.stringify(products), { mode: 0o600 });
  }

  const sims = {
    inverter: await startSimulator({ kind: 'inverter', port: 0 }),
    fan: await startSimulator({ kind: 'fan', port: 0 }),
    storage: await startSimulator({ kind: 'energy-storage', port: 0 }),
  };
  const device = (deviceKey: string, model: string, port: number) => ({
    deviceKey,
    name: deviceKey,
    model,
    transport: { kind: 'tcp', host: '127.0.0.1', port },
    unitId: 1,
    pollIntervalMs: 1000,
    timeoutMs: 1000,
  });
  await writeFile(join(edgeDir, 'service-account.secret'), creds.accessSecret, { mode: 0o600 });
  await writeFile(join(edgeDir, 'gateway.secret'), products.gwSecret, { mode: 0o600 });
  const configFile = join(edgeDir, 'edge.json');
  await writeFile(
    configFile,
    JSON.stringify(
      {
        hub: { url: baseUrl, mqttUrl },
        identity: {
          orgId,
          serviceAccount: { accessKey: creds.accessKey, accessSecretFile: 'service-account.secret' },
          gateway: { productKey: products.gwPk, deviceKey: 'demo-edge', deviceSecretFile: 'gateway.secret' },
          subDeviceProductKey: products.subPk,
        },
        registration: 'dynamic',
        southbound: {
          models: { inverter: inverterMap, fan: fanMap, storage: energyStorageMap },
          devices: [
            device('inverter-1', 'inverter', sims.inverter.port),
            device('fan-1', 'fan', sims.fan.port),
            device('storage-1', 'storage', sims.storage.port),
          ],
        },
        buffer: { dir: 'buffer' },
        configCenter: { host: '127.0.0.1', port: 0 },
      },
      null,
      2,
    ),
  );
  const edge = await Edge.start(await loadEdgeConfig(configFile), modbusSouthbound, pino({ level: 'warn' }));
  const center = await startConfigCenter(edge, { host: '127.0.0.1', port: 0 });

  process.stdout.write(
    [
      '',
      `demo running: hub ${baseUrl} (docs ${baseUrl}/docs), MQTT ${mqttUrl}`,
      `  edge config ${configFile}, config center ${center.url}/status (Authorization: Bearer <the gateway secret in ${join(edgeDir, 'gateway.secret')}>)`,
      `  simulators: inverter :${sims.inverter.port}, fan :${sims.fan.port}, energy storage :${sims.storage.port}`,
      `  admin credentials ${hub.credentialsPath} (org ${orgId})`,
      // Its own profile: logging the demo in must not replace the user's default one (docs/CONFIGURATION.md).
      `  try: npm run -s cli -- --profile demo login --url ${baseUrl} --from-credentials ${hub.credentialsPath}`,
      `       npm run -s cli -- --profile demo device search --product ${products.subPk}`,
      '',
    ].join('\n') + '\n',
  );

  const show = async () => {
    const r = await api.call<{ deviceKey: string; measurepoints: Record<string, { value: unknown }> }[]>(
      'POST',
      '/connect-service/v2.1/measurepoints',
      { action: 'queryLatest', orgId },
      { devices: ['inverter-1', 'fan-1', 'storage-1'].map((deviceKey) => ({ productKey: products.subPk, deviceKey })) },
    );
    if (r.code !== 0) return;
    const lines = r.data.map(
      (d) =>
        `  ${d.deviceKey.padEnd(10)} ${Object.entries(d.measurepoints)
          .map(([k, v]) => `${k}=${typeof v.value === 'number' ? Math.round(v.value * 100) / 100 : String(v.value)}`)
          .join('  ')}`,
    );
    process.stdout.write(`${new Date().toISOString()} latest values in the hub:\n${lines.join('\n')}\n`);
  };
  const timer = setInterval(() => void show(), 2000);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    await center.app.close();
    await edge.stop();
    await Promise.all(Object.values(sims).map((s) => s.stop()));
    await hub.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  // The demo's hub reads the same HUB_* ports as `npm start` (docs/CONFIGURATION.md).
  const inUse = portInUseMessage(err, loadConfig({ ...process.env, HUB_DATA_DIR: 'unused' }));
  if (inUse) {
    process.stderr.write(`demo cannot listen: ${inUse}\n`);
    process.exit(1);
  }
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
