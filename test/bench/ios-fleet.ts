import {
  ApnsSimulator,
  IphoneAgent,
  createCa,
  issue,
  issuePushCertificate,
  type Identity,
  type SimCa,
} from '../../simulators/src/apple/index.js';

export const benchTopic = 'com.apple.mgmt.External.0b5e7c1d-6f2a-4c3b-9d8e-7a6b5c4d3e2f';

/** The PKI and APNs simulator both peers share: a device CA, Apple's (sim) CA, the APNs server identity. */
export interface AppleWorld {
  deviceCa: SimCa;
  serverCa: SimCa;
  push: Identity;
  apns: ApnsSimulator;
  identities: Identity[];
  identitySeconds: number;
}

export async function openAppleWorld(devices: number): Promise<AppleWorld> {
  const [deviceCa, appleCa, serverCa] = await Promise.all([
    createCa('Bench device CA'),
    createCa('Bench Apple CA'),
    createCa('Bench APNs server CA'),
  ]);
  const server = await issue(serverCa, { subject: { CN: 'localhost' }, ips: ['127.0.0.1'], server: true });
  const push = await issuePushCertificate(appleCa, benchTopic);
  const apns = new ApnsSimulator({ certPem: server.certPem, keyPem: server.keyPem, clientCaPem: appleCa.certPem });
  apns.recordLimit = 0;
  await apns.start();
  const t0 = performance.now();
  const identities: Identity[] = [];
  for (let i = 0; i < devices; i += 256) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(256, devices - i) }, (_, j) => issue(deviceCa, { subject: { CN: `bench-iphone-${i + j}` } })),
    );
    identities.push(...batch);
  }
  return { deviceCa, serverCa, push, apns, identities, identitySeconds: (performance.now() - t0) / 1000 };
}

/** A fleet of simulated iPhones pointed at one server URL. */
export function fleet(world: AppleWorld, serverUrl: string): IphoneAgent[] {
  return world.identities.map(
    (identity, i) =>
      new IphoneAgent({ serverUrl, topic: benchTopic, identity, apns: world.apns, udid: `BENCH-${String(i).padStart(6, '0')}` }),
  );
}

/** Runs `task` over `items` with at most `limit` at once. */
export async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}
