import { buildRequest, topics } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.js';
import type { DeviceRecord } from '../registry/records.js';
import type { SubDeviceLifecycle } from '../router/context.js';
import { pushTo } from '../sessions/push.js';
import type { DeviceSession, SessionRegistry } from '../sessions/sessions.js';

export interface AdminChangesDeps {
  registry: Registry;
  sessions: SessionRegistry;
  lifecycle: SubDeviceLifecycle;
  log: Logger;
}

/** The gateway-scoped notices of §4.2, each on `/ext/session/{gwPk}/{gwDk}/combine/…`. */
const notices = {
  enable: { method: 'combine.enable', topic: topics.combineEnable },
  disable: { method: 'combine.disable', topic: topics.combineDisable },
  delete: { method: 'combine.delete', topic: topics.combineDelete },
} as const;

type CombineNotice = keyof typeof notices;

/**
 * Applies an administrator's REST changes to live connections (docs/ENOS-PROTOCOL.md §4.2, §5.5): a
 * disabled or deleted sub-device is announced to its gateway (`combine.disable` / `combine.delete`,
 * pushed without a subscription, §0.5) and logged out; a directly connected one is disconnected.
 * An enabled sub-device is announced with `combine.enable` so the gateway may log it in again; a
 * sub-device removed from a topology is logged out of that gateway. Returns the unsubscribe function.
 */
export function watchAdminChanges(deps: AdminChangesDeps): () => void {
  const { registry, sessions, lifecycle, log } = deps;

  /** Pushes a combine notice to the gateway session; a closed session is only logged. */
  async function notify(kind: CombineNotice, gwSession: DeviceSession, sub: DeviceRecord): Promise<void> {
    const gw = gwSession.device;
    const { method, topic } = notices[kind];
    // buildRequest ids never collide with the gateway's own small request ids (§12).
    const message = buildRequest(method, [{ productKey: sub.productKey, deviceKey: sub.deviceKey }]);
    try {
      await pushTo(gwSession, topic(gw.productKey, gw.deviceKey), message, 1);
    } catch (err) {
      log.debug({ err, gateway: gw, assetId: sub.assetId, kind }, 'combine notice not delivered');
    }
  }

  /** Disabled or deleted: the gateway is told and the sub-device logged out; a direct connection is closed. */
  async function revoke(kind: 'disable' | 'delete', d: DeviceRecord): Promise<void> {
    const gwSession = sessions.gatewayOf(d.productKey, d.deviceKey);
    if (gwSession) {
      await notify(kind, gwSession, d);
      await lifecycle.logout(d.productKey, d.deviceKey);
    }
    const direct = sessions.ofDevice(d.productKey, d.deviceKey);
    if (direct && !direct.client.closed) direct.client.close();
  }

  async function enabled(d: DeviceRecord): Promise<void> {
    if (d.gatewayAssetId === undefined) return;
    const gw = await registry.devices.find({ assetId: d.gatewayAssetId });
    const gwSession = gw && sessions.ofDevice(gw.productKey, gw.deviceKey);
    if (gwSession) await notify('enable', gwSession, d);
  }

  async function removed(gw: DeviceRecord, sub: DeviceRecord): Promise<void> {
    if (sessions.gatewayOf(sub.productKey, sub.deviceKey)?.device.assetId === gw.assetId)
      await lifecycle.logout(sub.productKey, sub.deviceKey);
  }

  // Listeners of an EventEmitter must not throw or reject: every failure is logged here.
  const guard =
    <A extends unknown[]>(event: string, fn: (...args: A) => Promise<void>) =>
    (...args: A): void => {
      fn(...args).catch((err: unknown) => log.error({ err, event }, 'applying an administrator change failed'));
    };

  const onDisabled = guard('deviceDisabled', (d: DeviceRecord) => revoke('disable', d));
  const onDeleted = guard('deviceDeleted', (d: DeviceRecord) => revoke('delete', d));
  const onEnabled = guard('deviceEnabled', enabled);
  const onRemoved = guard('subDeviceRemoved', removed);
  const events = registry.events;
  events.on('deviceDisabled', onDisabled);
  events.on('deviceDeleted', onDeleted);
  events.on('deviceEnabled', onEnabled);
  events.on('subDeviceRemoved', onRemoved);
  return () => {
    events.off('deviceDisabled', onDisabled);
    events.off('deviceDeleted', onDeleted);
    events.off('deviceEnabled', onEnabled);
    events.off('subDeviceRemoved', onRemoved);
  };
}
