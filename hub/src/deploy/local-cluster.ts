import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { writeSecretFile } from '@edgehub/shared/secret-file';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderHaproxyConfig, type WorkerEndpoint } from './haproxy-config.js';
import { hubNodeFlags } from './node-flags.js';
import { freePort, startProcess, type ClusterProcess } from './processes.js';

export { hubNodeFlags };

/**
 * The cluster of docker-compose.yml on one machine, without containers (`npm run cluster`,
 * docs/DEPLOYMENT.md): redis-server, the standalone certificate service, N hub workers, one manager
 * and HAProxy in front — every one a real process from its own binary. Workers and the manager
 * share one data directory (the embedded store is safe for several processes on one host; on
 * several hosts use MongoDB).
 */
export interface LocalClusterOptions {
  dataDir: string;
  workers: number;
  /** HAProxy's public ports; 0 picks free ones. */
  ports: { mqtt: number; mqtts: number; ws: number; http: number };
  host?: string;
  logLevel?: string;
  /** Extra environment for every hub node. */
  hubEnv?: Record<string, string>;
  /** Health-check interval of HAProxy (ms). */
  checkIntervalMs?: number;
}

export interface HubNode {
  name: string;
  nodeId: string;
  endpoint: WorkerEndpoint;
  env: NodeJS.ProcessEnv;
  process: ClusterProcess;
}

export interface LocalCluster {
  urls: { mqtt: string; mqtts: string; ws: string; http: string };
  redisUrl: string;
  workers: HubNode[];
  manager: HubNode;
  haproxy: ClusterProcess;
  redis: ClusterProcess;
  certificateService: ClusterProcess;
  /** The administrator's credentials file (written by the first node). */
  credentialsPath: string;
  /** Starts a stopped worker again under the same node id and ports. */
  restartWorker(index: number): Promise<HubNode>;
  stop(): Promise<void>;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/**
 * The node binaries as this module runs: compiled (`npm run cluster` runs hub/dist/bin/cluster.js,
 * scripts/build.ts) starts the compiled hub and certificate service; from source (tests, tsx) the sources.
 */
const compiled = import.meta.url.endsWith('.js');
const nodeArgs = (pkg: 'hub' | 'certificate-service', bin: string) =>
  compiled ? [`${pkg}/dist/bin/${bin}.js`] : ['--import', 'tsx', `${pkg}/src/main.ts`];
/** A hub node runs with the V8 options `npm start` gives the hub (node-flags.ts). */
const hubNodeArgs = [...hubNodeFlags, ...nodeArgs('hub', 'hub')];
const HUB_READY = /REST API\s+http:\/\//;

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const host = options.host ?? '127.0.0.1';
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const started: ClusterProcess[] = [];
  const stopAll = async () => {
    for (const p of started.reverse()) await p.stop('SIGTERM', 15_000).catch(() => undefined);
  };
  try {
    const redisPort = await freePort(host);
    const redis = await startProcess(
      'redis-server',
      'redis-server',
      ['--port', String(redisPort), '--bind', host, '--save', '', '--appendonly', 'no'],
      process.env,
      /Ready to accept connections/,
      repoRoot,
    );
    started.push(redis);
    const redisUrl = `redis://${host}:${redisPort}`;

    const certSecret = await sharedSecret(join(dataDir, 'certificate-service.secret'));
    const certPort = await freePort(host);
    const certificateService = await startProcess(
      'certificate-service',
      process.execPath,
      nodeArgs('certificate-service', 'certificate-service'),
      {
        ...process.env,
        CERT_SERVICE_DATA_DIR: join(dataDir, 'certificate-service'),
        CERT_SERVICE_HOST: host,
        CERT_SERVICE_PORT: String(certPort),
        CERT_SERVICE_SECRET: certSecret,
        LOG_LEVEL: options.logLevel ?? 'warn',
      },
      /certificate service is running/,
      repoRoot,
    );
    started.push(certificateService);

    const ports = {
      mqtt: options.ports.mqtt || (await freePort(host)),
      mqtts: options.ports.mqtts || (await freePort(host)),
      ws: options.ports.ws || (await freePort(host)),
      http: options.ports.http || (await freePort(host)),
    };
    // Every node seals and opens stored secrets with one key (docs/SECURITY.md, "Secrets at rest").
    const given = { ...process.env, ...options.hubEnv };
    const secretKey =
      given['HUB_SECRET_KEY'] || given['HUB_SECRET_KEY_FILE'] ? {} : { HUB_SECRET_KEY_FILE: await hubSecretKeyFile(dataDir) };
    const baseEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...secretKey,
      HUB_DATA_DIR: join(dataDir, 'hub'),
      REDIS_URL: redisUrl,
      HUB_CERT_SERVICE_URL: `http://${host}:${certPort}`,
      HUB_CERT_SERVICE_SECRET: certSecret,
      HUB_HTTP_HOST: host,
      HUB_MQTT_HOST: host,
      HUB_PUBLIC_URL: `http://${host}:${ports.http}`,
      // Only HAProxy (on this host) may tell a worker a device's address.
      HUB_MQTT_PROXY_PROTOCOL_FROM: host,
      LOG_LEVEL: options.logLevel ?? 'warn',
      ...options.hubEnv,
    };
    const endpoint = async (name: string): Promise<WorkerEndpoint> => ({
      name,
      host,
      mqttPort: await freePort(host),
      mqttsPort: await freePort(host),
      wsPort: await freePort(host),
      httpPort: await freePort(host),
    });
    const startNode = async (name: string, role: 'worker' | 'manager', e: WorkerEndpoint): Promise<HubNode> => {
      const env: NodeJS.ProcessEnv = {
        ...baseEnv,
        HUB_ROLE: role,
        HUB_NODE_ID: name,
        HUB_HTTP_PORT: String(e.httpPort),
        HUB_MQTT_PORT: String(e.mqttPort),
        HUB_MQTTS_PORT: String(e.mqttsPort),
        HUB_MQTT_WS_PORT: String(e.wsPort),
      };
      const proc = await startProcess(name, process.execPath, hubNodeArgs, env, HUB_READY, repoRoot);
      started.push(proc);
      return { name, nodeId: name, endpoint: e, env, process: proc };
    };
    // The manager first: the first node to open the store bootstraps the administrator.
    const manager = await startNode('manager', 'manager', await endpoint('manager'));
    const workerEndpoints = await Promise.all(Array.from({ length: options.workers }, (_, i) => endpoint(`worker-${i + 1}`)));
    const workers = await Promise.all(workerEndpoints.map((e) => startNode(e.name, 'worker', e)));

    const config = renderHaproxyConfig({
      bind: { host, ...ports },
      workers: workerEndpoints,
      manager: { host, httpPort: manager.endpoint.httpPort },
      checkIntervalMs: options.checkIntervalMs ?? 1000,
    });
    const configPath = join(dataDir, 'haproxy.cfg');
    await writeFile(configPath, config);
    // -db: stay in the foreground; -W: master-worker (signals reach HAProxy's worker too).
    const haproxy = await startProcess('haproxy', 'haproxy', ['-W', '-db', '-f', configPath], process.env, null, repoRoot);
    started.push(haproxy);
    await waitForListening(host, ports.mqtt).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; haproxy said:\n${haproxy.output()}`);
    });

    const cluster: LocalCluster = {
      urls: {
        mqtt: `mqtt://${host}:${ports.mqtt}`,
        mqtts: `mqtts://${host}:${ports.mqtts}`,
        ws: `ws://${host}:${ports.ws}/mqtt`,
        http: `http://${host}:${ports.http}`,
      },
      redisUrl,
      workers,
      manager,
      haproxy,
      redis,
      certificateService,
      credentialsPath: join(dataDir, 'hub', 'admin-credentials.json'),
      async restartWorker(index) {
        const old = workers[index]!;
        const again = await startNode(old.name, 'worker', old.endpoint);
        workers[index] = again;
        return again;
      },
      stop: stopAll,
    };
    return cluster;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The hubs' secret key file (32 random bytes, base64): generated once, 0600, in the cluster's data dir. */
async function hubSecretKeyFile(dataDir: string): Promise<string> {
  const path = join(dataDir, 'hub-secret.key');
  try {
    await readFile(path, 'utf8');
  } catch {
    await writeSecretFile(path, randomBytes(32).toString('base64') + '\n');
  }
  return path;
}

/** The hub ↔ certificate-service secret: generated once, kept 0600 in the cluster's data dir. */
async function sharedSecret(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const secret = randomBytes(32).toString('hex');
    await writeSecretFile(path, secret + '\n');
    return secret;
  }
}

async function waitForListening(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { composeTopology, renderHaproxyConfig, type HaproxyTopology } from './haproxy-config.js';
