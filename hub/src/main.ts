import { ConfigError, loadConfig, type HubConfig } from './config.js';
import { openHub, VERSION } from './hub.js';
import { portInUseMessage } from './port-in-use.js';
import { SecretKeyError } from './secrets/secret-box.js';
import { readStartOptions } from './start-options.js';

/** The config once read: a failure to listen is then explained with the variable to change. */
let config: HubConfig | undefined;

/** `npm start`: reads the config, opens the hub on the embedded store by default, listens. */
async function main(): Promise<void> {
  const options = readStartOptions(process.argv, VERSION);
  if (!options.start) {
    // Not a start: the code-cache launcher must not keep what this run compiled (scripts/code-cache.ts).
    (globalThis as Record<symbol, unknown>)[Symbol.for('edgehub.codeCache.skip')] = true;
    process.exitCode = options.exitCode;
    return;
  }
  config = loadConfig();
  const hub = await openHub(config);
  const at = await hub.listen();
  const host = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const base = `http://${host(config.http.host)}:${at.http.port}`;
  const mqttHost = host(config.mqtt.host);
  const mqttLines =
    at.mqtt && at.mqtts && at.ws
      ? [
          `  MQTT          mqtt://${mqttHost}:${at.mqtt.port}`,
          `  MQTT over TLS mqtts://${mqttHost}:${at.mqtts.port} (CA: ${hub.broker.tlsCertPath})`,
          `  MQTT over WS  ws://${mqttHost}:${at.ws.port}/mqtt`,
        ]
      : ['  MQTT          (manager node: no device listeners)'];
  hub.log.info(
    { store: hub.store.kind, dataDir: config.dataDir, role: config.role, cluster: config.redisUrl !== undefined },
    'hub started',
  );
  process.stdout.write(
    [
      '',
      `edgehub is running (role: ${config.role}${config.redisUrl ? ', cluster over Redis' : ''}, store: ${hub.store.kind}, data: ${config.dataDir})`,
      `  REST API      ${base}/connect-service/v2.1/`,
      `  Token service ${base}/apim-token-service/v2.0/token/get`,
      `  API docs      ${base}/docs`,
      ...(config.role === 'worker' ? [] : [`  Web console   ${base}/console/`]),
      `  Health        ${base}/health`,
      ...mqttLines,
      `  Admin login   ${hub.credentialsPath} (0600)`,
      '',
    ].join('\n') + '\n',
  );
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    hub.log.info({ signal }, 'shutting down: draining devices first');
    hub
      .drain()
      .then((devices) => {
        hub.log.info({ devices }, 'drained');
        return hub.close();
      })
      .then(
        () => process.exit(0),
        (err: unknown) => {
          hub.log.error({ err }, 'error while shutting down');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  // A malformed, missing or wrong secret key is a configuration error too (docs/SECURITY.md, "Secrets at rest").
  if (err instanceof ConfigError || err instanceof SecretKeyError) {
    process.stderr.write(`configuration error: ${err.message}\n`);
    process.exit(2);
  }
  const inUse = config && portInUseMessage(err, config);
  if (inUse) {
    process.stderr.write(`cannot listen: ${inUse}\n`);
    process.exit(1);
  }
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
