import { access } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomically, writeSecretFile } from '@edgehub/shared/secret-file';
import { MAX_PAGE_SIZE } from '@edgehub/shared';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { gitWorkTreeOf } from '../import/work-tree.js';
import { deviceArg } from '../options.js';
import { openSession, outputFor, type GlobalOptions, type Session } from '../session.js';
import type { DeviceView } from '../views.js';

interface InitOptions extends GlobalOptions {
  gateway: string;
  out: string;
  subProduct?: string;
  mqttUrl?: string;
  force?: boolean;
}

/**
 * `edge init`: an edge config (edge/src/config, JSON with comments) for one gateway, filled from
 * the hub's own records: the org, this CLI's service account, the gateway's triple, the product
 * of its sub-devices and the sub-devices already bound to it. Secrets go to files beside it (0600),
 * referenced as `…File`, never inline.
 */
export function registerEdge(program: Command): void {
  const edge = program.command('edge').description('set up edge gateways');
  edge
    .command('init')
    .description("write a commented edge config for a gateway from the hub's records (secrets in 0600 files beside it)")
    .requiredOption('--gateway <device>', 'the gateway: productKey/deviceKey or an assetId')
    .option('--out <edge.json>', 'the config file to write', 'edge.json')
    .option('--sub-product <productKey>', "the product of the gateway's sub-devices (default: that of the ones bound to it)")
    .option('--mqtt-url <url>', "the hub's MQTT URL (default: mqtt://<the hub's host>:1883)")
    .option('--force', 'replace an existing config (the secret files are rewritten too)')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<InitOptions>();
      const out = outputFor(o);
      const ref = deviceArg(o.gateway);
      if (!o.force && (await exists(o.out))) throw new UsageError(`${o.out} exists; add --force to replace it`);
      const session = await openSession(o, out);
      const gateway = (await session.ok<DeviceView>('GET', 'devices', 'get', ref)).data;
      if (gateway.productType !== undefined && gateway.productType !== 'Gateway')
        throw new UsageError(`${gateway.productKey}/${gateway.deviceKey} is not a gateway (product type ${gateway.productType})`);
      if (!gateway.deviceSecret) throw new Error('the hub did not return the gateway secret');
      const subs = await subDevices(session, gateway);
      const subProduct = o.subProduct ?? soleProduct(subs);
      const mqttUrl = o.mqttUrl ?? `mqtt://${new URL(session.profile.url).hostname}:1883`;

      const dir = dirname(resolve(o.out));
      const stem = basename(o.out).replace(/\.json$/i, '');
      const files = { gateway: `${stem}.gateway.secret`, account: `${stem}.service-account.secret` };
      const workTree = gitWorkTreeOf(o.out);
      if (workTree !== undefined)
        out.notice(`warning: the secret files go into the git work tree ${workTree}; keep them out of commits (.gitignore)`);
      await writeSecretFile(join(dir, files.gateway), gateway.deviceSecret + '\n');
      await writeSecretFile(join(dir, files.account), session.profile.accessSecret + '\n');
      const text = configText({ session, gateway, subs, subProduct, mqttUrl, files });
      await writeFileAtomically(o.out, text, { mode: 0o644 });
      out.result(
        {
          config: o.out,
          secretFiles: [join(dir, files.gateway), join(dir, files.account)],
          subDevices: subs.length,
          subDeviceProductKey: subProduct ?? null,
        },
        () => `wrote ${o.out} for gateway ${gateway.productKey}/${gateway.deviceKey} (${subs.length} sub-devices on the hub)`,
      );
      if (subProduct === undefined && !o.json)
        out.notice('set identity.subDeviceProductKey: the gateway has no sub-devices yet to take it from (or give --sub-product)');
      if (!o.json) out.notice('fill in southbound.models and southbound.devices, then start it: npm run edge -- start --config ' + o.out);
    });
}

async function subDevices(session: Session, gateway: DeviceView): Promise<DeviceView[]> {
  const items: DeviceView[] = [];
  for (let pageNo = 1; ; pageNo++) {
    const r = await session.ok<DeviceView[]>(
      'POST',
      'device-topos',
      'searchSubDevice',
      {},
      { gateway: { assetId: gateway.assetId }, pagination: { pageNo, pageSize: MAX_PAGE_SIZE } },
    );
    items.push(...r.data);
    if (r.data.length < MAX_PAGE_SIZE || items.length >= (r.pagination?.totalSize ?? 0)) return items;
  }
}

function soleProduct(subs: readonly DeviceView[]): string | undefined {
  const products = [...new Set(subs.map((d) => d.productKey))];
  if (products.length > 1)
    throw new UsageError(`the gateway's sub-devices belong to ${products.join(', ')}: choose one with --sub-product`);
  return products[0];
}

/** JSON with comments (the edge reads them, edge/src/config/load.ts); every value is JSON.stringify'd. */
function configText(c: {
  session: Session;
  gateway: DeviceView;
  subs: readonly DeviceView[];
  subProduct: string | undefined;
  mqttUrl: string;
  files: { gateway: string; account: string };
}): string {
  const j = (v: unknown) => JSON.stringify(v);
  const exampleKey = c.subs[0]?.deviceKey ?? 'meter-1';
  const known = c.subs.length
    ? c.subs.map((d) => `    //   ${d.deviceKey}  (${d.deviceName.defaultValue.replace(/[\r\n]/g, ' ')})`).join('\n')
    : '    //   (none yet: the edge registers the devices listed below)';
  return `// Edge config for gateway ${c.gateway.productKey}/${c.gateway.deviceKey} (assetId ${c.gateway.assetId}),
// written by \`edgehub edge init\` from the hub's records on ${new Date().toISOString()}.
// Every key is described in docs/ARCHITECTURE.md (edge) and checked when the edge starts: unknown keys are errors.
{
  // Where the hub is: its REST API and its MQTT listener (mqtts:// with caFile for TLS).
  "hub": {
    "url": ${j(c.session.profile.url)},
    "mqttUrl": ${j(c.mqttUrl)}
  },
  "identity": {
    "orgId": ${j(c.session.orgId)},
    // The service account the edge registers sub-devices with (this CLI's; the secret is in the file, mode 0600).
    "serviceAccount": { "accessKey": ${j(c.session.profile.accessKey)}, "accessSecretFile": ${j(c.files.account)} },
    // The gateway's own triple; its secret is in the file (mode 0600).
    "gateway": { "productKey": ${j(c.gateway.productKey)}, "deviceKey": ${j(c.gateway.deviceKey)}, "deviceSecretFile": ${j(c.files.gateway)} },
    // The product every southbound device is registered under.
    "subDeviceProductKey": ${j(c.subProduct ?? 'SET-ME')}
  },
  // dynamic: create missing sub-devices over REST; static: bind existing ones only; mqtt: register over MQTT.
  "registration": ${j(c.subs.length > 0 ? 'static' : 'dynamic')},
  "southbound": {
    // Register maps by model name: "points": { "<measurepoint>": { "fc": 3, "address": 0, "type": "float32" } }.
    "models": {},
    // One entry per Modbus device, e.g.
    //   { "deviceKey": ${j(exampleKey)}, "model": "<model>", "transport": { "kind": "tcp", "host": "192.168.1.20", "port": 502 }, "unitId": 1 }
    // Sub-devices the hub already has under this gateway:
${known}
    "devices": []
  },
  // Readings wait here while the hub is unreachable.
  "buffer": { "dir": "buffer" }
}
`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
