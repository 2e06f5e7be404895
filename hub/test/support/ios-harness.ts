import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ApnsSimulator, IphoneAgent, createCa, issue, issuePushCertificate, type Identity, type SimCa } from '@edgehub/simulators/apple';
import { openEmbeddedStore } from '../../src/store/embedded/store.js';
import type { Store } from '../../src/store/port.js';
import { IosPlugin, type IosPluginOptions } from '../../src/device-types/ios/plugin.js';
import type { PushOutcome } from '../../src/push/apns/outcome.js';
import { SecretBox } from '../../src/secrets/secret-box.js';

export const testTopic = 'com.apple.mgmt.External.7a1f2c4e-0b3d-4e5f-9a8b-1c2d3e4f5a6b';

/** Real pieces end to end: an embedded store, the plugin on a fastify server, the APNs simulator over TLS. */
export interface IosHarness {
  dir: string;
  store: Store;
  plugin: IosPlugin;
  app: FastifyInstance;
  serverUrl: string;
  apns: ApnsSimulator;
  deviceCa: SimCa;
  appleCa: SimCa;
  push: Identity;
  outcomes: { udid: string; outcome: PushOutcome }[];
  agent(opts?: Partial<ConstructorParameters<typeof IphoneAgent>[0]>): Promise<IphoneAgent>;
  /** Closes the plugin and the server and opens them again on the same store (a hub restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function openIosHarness(extra: Partial<IosPluginOptions> = {}): Promise<IosHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'ios-'));
  const [deviceCa, appleCa, apnsServerCa] = await Promise.all([
    createCa('Device Identity CA'),
    createCa('Apple Push CA (sim)'),
    createCa('APNs server CA (sim)'),
  ]);
  const apnsServer = await issue(apnsServerCa, { subject: { CN: 'localhost' }, dnsNames: ['localhost'], ips: ['127.0.0.1'], server: true });
  const push = await issuePushCertificate(appleCa, testTopic);
  const apns = new ApnsSimulator({ certPem: apnsServer.certPem, keyPem: apnsServer.keyPem, clientCaPem: appleCa.certPem });
  const apnsUrl = await apns.start();
  const log = pino({ level: 'silent' });
  const outcomes: { udid: string; outcome: PushOutcome }[] = [];
  let store = await openEmbeddedStore({ path: join(dir, 'registry') });
  // One key for the harness's life: a restart opens the sealed push certificate key with it.
  const secretKeyring = { box: new SecretBox(randomBytes(32)) };

  const h = {} as IosHarness;
  let port = 0;
  async function openPlugin(): Promise<void> {
    const plugin = await IosPlugin.open(
      store,
      log,
      {
        apnsUrl,
        apnsCaPem: apnsServerCa.certPem,
        identityCaPems: [deviceCa.certPem],
        push: { retryBaseMs: 5, retryMaxMs: 20 },
        secretKeyring,
        ...extra,
      },
      (udid, outcome) => outcomes.push({ udid, outcome }),
    );
    const app = Fastify({ logger: false });
    await plugin.routes(app);
    await app.listen({ host: '127.0.0.1', port });
    const addr = app.server.address() as { port: number };
    port = addr.port;
    Object.assign(h, { plugin, app, serverUrl: `http://127.0.0.1:${addr.port}/mdm` });
  }
  await openPlugin();
  await h.plugin.pushCertificates.upload(push.certPem, push.keyPem);

  Object.assign(h, {
    dir,
    store,
    apns,
    deviceCa,
    appleCa,
    push,
    outcomes,
    async agent(opts: Partial<ConstructorParameters<typeof IphoneAgent>[0]> = {}) {
      const identity = opts.identity ?? (await issue(deviceCa, { subject: { CN: 'iPhone identity' } }));
      const agent = new IphoneAgent({ serverUrl: h.serverUrl, topic: testTopic, identity, apns, ...opts });
      await agent.enroll();
      return agent;
    },
    async restart() {
      await h.app.close();
      await h.plugin.close();
      await store.close();
      store = await openEmbeddedStore({ path: join(dir, 'registry') });
      h.store = store;
      await openPlugin();
    },
    async close() {
      await h.app.close();
      await h.plugin.close();
      await apns.stop();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  });
  return h;
}
