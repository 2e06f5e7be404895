import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApnsSimulator } from './apns-simulator.js';
import { createCa, issue, issuePushCertificate, type Identity, type SimCa } from './pki.js';

/** Everything a hub needs to speak Apple MDM on one machine, and the CAs to make more of it. */
export interface AppleSandbox {
  /** The push topic of `push` (com.apple.mgmt.External.…). */
  topic: string;
  /** The APNs simulator, started, trusting push certificates issued by `apple`. */
  apns: ApnsSimulator;
  /** Stands in for Apple's push certificate authority: issue other push certificates with it. */
  apple: SimCa;
  /** The CA of the APNs simulator's TLS certificate. */
  apnsServerCa: SimCa;
  /** Issues the simulated iPhones' identity certificates (the hub trusts it through HUB_IOS_IDENTITY_CA_FILE). */
  deviceCa: SimCa;
  /** The MDM push certificate and its key. */
  push: Identity;
  /** A temporary directory holding `files`; removed by `stop`. */
  dir: string;
  files: { apnsCa: string; identityCa: string; pushCert: string; pushKey: string };
  /** The hub's HUB_IOS_* settings for this sandbox (docs/CONFIGURATION.md): merge into the hub's environment. */
  env: Record<string, string>;
  /** An identity certificate for a simulated iPhone, from `deviceCa`. */
  phoneIdentity(commonName: string): Promise<Identity>;
  stop(): Promise<void>;
}

/**
 * The Apple side of an MDM test or demo (docs/DEVICE-MANAGEMENT.md, "Apple: simulators"): the
 * three test CAs, a push certificate for `topic`, the APNs simulator over TLS on an ephemeral port,
 * and the files the hub's HUB_IOS_* variables name (the push key written 0600).
 */
export async function startAppleSandbox(opts: { topic?: string } = {}): Promise<AppleSandbox> {
  const topic = opts.topic ?? 'com.apple.mgmt.External.5a4db0c5-0000-4000-8000-5a4db0c50001';
  const dir = await mkdtemp(join(tmpdir(), 'apple-sandbox-'));
  const [apple, apnsServerCa, deviceCa] = await Promise.all([
    createCa('Apple (simulated)'),
    createCa('APNs server CA'),
    createCa('Device identity CA'),
  ]);
  const server = await issue(apnsServerCa, { subject: { CN: 'localhost' }, dnsNames: ['localhost'], ips: ['127.0.0.1'], server: true });
  const push = await issuePushCertificate(apple, topic);
  const apns = new ApnsSimulator({ certPem: server.certPem, keyPem: server.keyPem, clientCaPem: apple.certPem });
  await apns.start();
  const files = {
    apnsCa: join(dir, 'apns-ca.pem'),
    identityCa: join(dir, 'identity-ca.pem'),
    pushCert: join(dir, 'push.pem'),
    pushKey: join(dir, 'push.key'),
  };
  await writeFile(files.apnsCa, apnsServerCa.certPem);
  await writeFile(files.identityCa, deviceCa.certPem);
  await writeFile(files.pushCert, push.certPem);
  await writeFile(files.pushKey, push.keyPem, { mode: 0o600 });
  return {
    topic,
    apns,
    apple,
    apnsServerCa,
    deviceCa,
    push,
    dir,
    files,
    env: {
      HUB_IOS_APNS_URL: apns.url,
      HUB_IOS_APNS_CA_FILE: files.apnsCa,
      HUB_IOS_IDENTITY_CA_FILE: files.identityCa,
      HUB_IOS_PUSH_CERT_FILE: files.pushCert,
      HUB_IOS_PUSH_KEY_FILE: files.pushKey,
    },
    phoneIdentity: (commonName) => issue(deviceCa, { subject: { CN: commonName } }),
    async stop() {
      await apns.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
