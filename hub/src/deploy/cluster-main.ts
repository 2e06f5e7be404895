import { Command, InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { composeTopology, renderHaproxyConfig } from './haproxy-config.js';
import { startLocalCluster } from './local-cluster.js';

/**
 * `npm run cluster`: the multi-node deployment on this machine (docs/DEPLOYMENT.md). Prints the
 * URLs, stops everything on Ctrl-C (SIGINT) or SIGTERM.
 */
const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port from 0 to 65535');
  return n;
};
const program = new Command('cluster')
  .description('redis-server, the certificate service, N hub workers, a manager and HAProxy, on this machine')
  .option(
    '--workers <n>',
    'hub worker nodes',
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 32) throw new InvalidArgumentError('from 1 to 32');
      return n;
    },
    2,
  )
  .option('--data-dir <dir>', 'where every node keeps its data', './data-cluster')
  .option('--mqtt-port <port>', "HAProxy's MQTT port", port, 11883)
  .option('--mqtts-port <port>', "HAProxy's MQTT over TLS port", port, 18883)
  .option('--ws-port <port>', "HAProxy's MQTT over WebSocket port", port, 8083)
  .option('--http-port <port>', "HAProxy's management REST port", port, 8080)
  .option('--print-compose-haproxy', 'print the HAProxy configuration of docker-compose.yml (hub/deploy/haproxy.cfg) and exit');

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{
    workers: number;
    dataDir: string;
    mqttPort: number;
    mqttsPort: number;
    wsPort: number;
    httpPort: number;
    printComposeHaproxy?: boolean;
  }>();
  if (o.printComposeHaproxy) {
    process.stdout.write(renderHaproxyConfig(composeTopology));
    return;
  }
  process.stdout.write(`starting redis-server, the certificate service, a manager, ${o.workers} workers and HAProxy …\n`);
  const cluster = await startLocalCluster({
    dataDir: o.dataDir,
    workers: o.workers,
    ports: { mqtt: o.mqttPort, mqtts: o.mqttsPort, ws: o.wsPort, http: o.httpPort },
  });
  const admin = JSON.parse(await readFile(cluster.credentialsPath, 'utf8')) as { accessKey: string };
  process.stdout.write(
    [
      '',
      `edgehub cluster is running (data: ${o.dataDir})`,
      `  REST API      ${cluster.urls.http}/connect-service/v2.1/   (manager)`,
      `  MQTT          ${cluster.urls.mqtt}   (HAProxy → ${cluster.workers.map((w) => w.name).join(', ')})`,
      `  MQTT over TLS ${cluster.urls.mqtts}   (TLS passed through to the workers)`,
      `  MQTT over WS  ${cluster.urls.ws}`,
      `  Redis         ${cluster.redisUrl}`,
      `  Admin login   ${cluster.credentialsPath} (0600, accessKey ${admin.accessKey})`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n') + '\n',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping the cluster …\n`);
    cluster.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  for (const p of [
    ...cluster.workers.map((w) => w.process),
    cluster.manager.process,
    cluster.haproxy,
    cluster.redis,
    cluster.certificateService,
  ]) {
    p.child.once('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`${p.name} exited (${signal ?? code}); the others keep running\n`);
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
