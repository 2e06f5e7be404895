import { rm } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { edgeSite, type EdgeSite } from './edge-fixture.js';
import { newTenant, startHub, type RunningHub } from './hub-harness.js';

type Tenant = Awaited<ReturnType<typeof newTenant>>;
type SiteOptions = Parameters<typeof edgeSite>[3];

/** What the demo register maps read, declared as the sub-device product's thing model must declare it. */
export const demoMeasurepoints: Record<string, { dataType: string }> = {
  speed: { dataType: 'INT' },
  speedSetpoint: { dataType: 'INT' },
  running: { dataType: 'BOOL' },
  acPower: { dataType: 'INT' },
  reactivePower: { dataType: 'INT' },
  dcVoltage: { dataType: 'FLOAT' },
  temperature: { dataType: 'FLOAT' },
  energyTotal: { dataType: 'DOUBLE' },
  energyToday: { dataType: 'FLOAT' },
  activePowerLimit: { dataType: 'FLOAT' },
  soc: { dataType: 'FLOAT' },
  power: { dataType: 'FLOAT' },
  mode: { dataType: 'INT' },
  enabled: { dataType: 'BOOL' },
  alarm: { dataType: 'BOOL' },
};

export interface EdgeTestbed {
  /** The in-process hub and the suite's organization (valid from the suite's first test on). */
  readonly hub: RunningHub;
  readonly tenant: Tenant;
  /** A new edge site on this hub (gateway, Modbus simulators, config file), removed after the suite. */
  site(options?: SiteOptions): Promise<EdgeSite>;
  /** Stops `thing` after the suite, before the sites; the last kept is stopped first. */
  keep<T extends { stop(): Promise<unknown> }>(thing: T): T;
  /** The hub's sub-devices of a site's product, with their gateway. */
  subDevices(site: EdgeSite): Promise<{ deviceKey: string; gatewayAssetId: string | null }[]>;
}

/**
 * One hub and one organization for a suite of edge tests, and everything the tests start on them
 * (edges, config centers, sites) stopped and removed after the suite.
 */
export function edgeTestbed(tenantName: string): EdgeTestbed {
  let hub: RunningHub | undefined;
  let tenant: Tenant | undefined;
  const sites: EdgeSite[] = [];
  const kept: { stop(): Promise<unknown> }[] = [];
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the edge testbed is used before its beforeAll ran');
    return v;
  };
  beforeAll(async () => {
    hub = await startHub();
    tenant = await newTenant(hub, tenantName);
  });
  afterAll(async () => {
    for (const k of kept.reverse()) await k.stop().catch(() => undefined);
    for (const s of sites) {
      await s.stop();
      await rm(s.dir, { recursive: true, force: true });
    }
    await hub?.close();
  });
  return {
    get hub() {
      return ready(hub);
    },
    get tenant() {
      return ready(tenant);
    },
    async site(options) {
      const h = ready(hub);
      const t = ready(tenant);
      const site = await edgeSite(t.client, t, { baseUrl: h.baseUrl, mqttUrl: h.mqttUrl }, options);
      sites.push(site);
      return site;
    },
    keep(thing) {
      kept.push(thing);
      return thing;
    },
    async subDevices(site) {
      const t = ready(tenant);
      const answer = await t.client.ok<{ deviceKey: string; gatewayAssetId: string | null }[]>(
        'POST',
        '/connect-service/v2.1/devices',
        { action: 'search', orgId: t.orgId },
        { expression: `productKey = '${site.subProductKey}'` },
      );
      return answer.data;
    },
  };
}
