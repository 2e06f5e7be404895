import type { Command } from 'commander';
import { MAX_PAGE_SIZE } from '@edgehub/shared';
import { deviceArg } from '../options.js';
import { openSession, outputFor, type GlobalOptions } from '../session.js';
import { deviceDetails, deviceTable, withoutSecret, type DeviceView } from '../views.js';

const describe = (ref: Record<string, string>) => ref['assetId'] ?? `${ref['productKey']}/${ref['deviceKey']}`;

/** `topology add|remove|list|gateway`: which sub-devices a gateway may log in (device-topos). */
export function registerTopology(program: Command): void {
  const topo = program.command('topology').description("manage gateways' sub-devices (devices are productKey/deviceKey or an assetId)");

  for (const [name, action, past] of [
    ['add', 'addSubDevice', 'added'],
    ['remove', 'removeSubDevice', 'removed'],
  ] as const) {
    topo
      .command(name)
      .description(`${name} sub-devices ${name === 'add' ? 'to' : 'from'} a gateway (all or nothing)`)
      .requiredOption('--gateway <device>', 'the gateway')
      .argument('<subDevices...>', 'the sub-devices')
      .action(async (subs: string[], _o: unknown, cmd: Command) => {
        const o = cmd.optsWithGlobals<{ gateway: string } & GlobalOptions>();
        const out = outputFor(o);
        const gateway = deviceArg(o.gateway);
        const subDevices = subs.map(deviceArg);
        const session = await openSession(o, out);
        await session.ok('POST', 'device-topos', action, {}, { gateway, subDevices });
        out.result(
          { action: name, gateway, subDevices },
          () => `${past} ${subDevices.map(describe).join(', ')} ${name === 'add' ? 'to' : 'from'} ${describe(gateway)}`,
        );
      });
  }

  topo
    .command('list')
    .description('every sub-device of a gateway')
    .requiredOption('--gateway <device>', 'the gateway')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ gateway: string } & GlobalOptions>();
      const out = outputFor(o);
      const gateway = deviceArg(o.gateway);
      const session = await openSession(o, out);
      const items: DeviceView[] = [];
      for (let pageNo = 1; ; pageNo++) {
        const r = await session.ok<DeviceView[]>(
          'POST',
          'device-topos',
          'searchSubDevice',
          {},
          { gateway, pagination: { pageNo, pageSize: MAX_PAGE_SIZE, sorters: [{ field: 'createTime', order: 'ASC' }] } },
        );
        items.push(...r.data.map((d) => withoutSecret(d, 'deviceSecret', false)));
        if (r.data.length < MAX_PAGE_SIZE || items.length >= (r.pagination?.totalSize ?? 0)) break;
      }
      out.result({ gateway, items }, () => (items.length === 0 ? `${describe(gateway)} has no sub-devices\n` : deviceTable(items)));
    });

  topo
    .command('gateway')
    .description('the gateway of a sub-device')
    .argument('<subDevice>')
    .action(async (sub: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<GlobalOptions>();
      const out = outputFor(o);
      const subDevice = deviceArg(sub);
      const session = await openSession(o, out);
      const r = await session.ok<DeviceView | null>('POST', 'device-topos', 'getGateway', {}, { subDevice });
      const gw = r.data ? withoutSecret(r.data, 'deviceSecret', false) : null;
      out.result(gw, () => (gw ? deviceDetails(gw, false) : `${describe(subDevice)} has no gateway\n`));
    });
}
