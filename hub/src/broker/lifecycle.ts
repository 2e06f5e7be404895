import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.js';
import type { SubDeviceLifecycle } from '../router/context.js';
import { deviceKeyOf, type DeviceIdentity, type DeviceSession, type SessionRegistry } from '../sessions/sessions.js';

export interface LifecycleEvents {
  online: [DeviceIdentity, number];
  offline: [DeviceIdentity, number];
  /** The device's first successful login (activeTime set). */
  activated: [DeviceIdentity, number];
}

/**
 * Device status transitions (docs/ENOS-PROTOCOL.md §1, §5): first login sets activeTime and moves
 * inactive → online; disconnect or logout → offline; a gateway's disconnect takes every sub-device
 * logged in through it offline. Writes for one device are applied in the order the events
 * happened, so a quick reconnect never ends up "offline".
 */
/**
 * Cluster-wide ownership of device sessions (cluster/ownership.ts). Absent on a single node.
 * `claim` records this node as the holder; `release` removes the record and says whether this node
 * still held it — only then may the device be written offline (a newer login elsewhere wins).
 */
export interface SessionOwnership {
  claim(device: DeviceIdentity): Promise<void>;
  release(device: DeviceIdentity): Promise<boolean>;
}

export class DeviceLifecycle extends EventEmitter<LifecycleEvents> implements SubDeviceLifecycle {
  private readonly chains = new Map<string, Promise<void>>();
  /** The lastOnlineTime this node's own `online` write stored, per device it holds: its `offline` is conditional on it. */
  private readonly onlineSince = new Map<string, number>();
  ownership?: SessionOwnership;

  constructor(
    private readonly registry: Registry,
    private readonly sessions: SessionRegistry,
    private readonly log: Logger,
    private readonly clock: () => number,
  ) {
    super();
  }

  /**
   * A device's own connection is ready (after CONNACK). Returns the session it replaced.
   * `activated`: whether the CONNECT check read an activeTime (Devices.markOnline's `seen`).
   */
  connected(session: DeviceSession, activated?: boolean): DeviceSession | undefined {
    const previous = this.sessions.add(session);
    void this.mark(session.device, 'online', { activated });
    return previous;
  }

  /** A device's own connection closed: offline, and so is every sub-device it carried. */
  disconnected(session: DeviceSession): void {
    const subs = [...session.subDevices.values()];
    const wasCurrent = this.sessions.remove(session);
    for (const sub of subs) {
      if (!this.sessions.gatewayOf(sub.productKey, sub.deviceKey)) void this.mark(sub, 'offline');
    }
    // A session replaced by a newer login of the same device must not mark it offline.
    if (wasCurrent) void this.mark(session.device, 'offline');
  }

  async login(gateway: DeviceSession, sub: DeviceIdentity): Promise<void> {
    this.sessions.loginSubDevice(gateway, sub);
    await this.mark(sub, 'online');
  }

  async logout(productKey: string, deviceKey: string): Promise<void> {
    const identity = this.sessions.gatewayOf(productKey, deviceKey)?.subDevices.get(deviceKeyOf(productKey, deviceKey));
    if (!this.sessions.logoutSubDevice(productKey, deviceKey) || !identity) return;
    await this.mark(identity, 'offline');
  }

  /**
   * Cluster liveness: the node that held this device's session is gone (or this node restarted
   * under the same id), and nobody else claimed it when the sweep began at `sweptAt`. Written
   * offline without asking ownership (the sweep already removed the session record), and only if
   * the device's last login is older than the sweep: a login written since, at another node, is a
   * session this write must not end. The node that died stopped at least its TTL
   * (HUB_CLUSTER_NODE_TTL_MS, 15 s) before the sweep, so its own logins are older than `sweptAt`
   * unless the nodes' clocks differ by more than that.
   */
  orphaned(device: DeviceIdentity, sweptAt: number): Promise<void> {
    if (this.sessions.routeTo(device.productKey, device.deviceKey)) return Promise.resolve();
    return this.mark(device, 'offline', { sweptAt });
  }

  /** Cluster: Redis came back (possibly empty); claims again every session this node holds. */
  async reclaimAll(): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const session of this.sessions.all()) {
      writes.push(this.mark(session.device, 'online'));
      for (const sub of session.subDevices.values()) writes.push(this.mark(sub, 'online'));
    }
    await Promise.all(writes);
  }

  /** Resolves when every status write queued so far has been applied (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  /**
   * `activated`: what the CONNECT check saw (online only). `sweptAt`: a liveness sweep's write
   * (orphaned), which asks no ownership and holds only over logins older than the sweep.
   */
  private mark(
    device: DeviceIdentity,
    status: 'online' | 'offline',
    { activated, sweptAt }: { activated?: boolean; sweptAt?: number } = {},
  ): Promise<void> {
    const viaOwnership = sweptAt === undefined;
    const at = this.clock();
    const prev = this.chains.get(device.assetId) ?? Promise.resolve();
    const next = prev
      .then(async () => {
        if (this.ownership && viaOwnership) {
          if (status === 'online') await this.ownership.claim(device);
          else if (!(await this.ownership.release(device))) return;
        }
        if (status === 'online') {
          const seen = activated === undefined ? undefined : { productKey: device.productKey, deviceKey: device.deviceKey, activated };
          const updated = await this.registry.devices.markOnline(device.assetId, at, seen);
          if (updated?.lastOnlineTime === at) this.onlineSince.set(device.assetId, at);
          if (updated?.activeTime === at) this.emit('activated', device, at);
        } else {
          // Not over a login written since by another node sharing the registry (markOffline).
          const since = this.onlineSince.get(device.assetId);
          this.onlineSince.delete(device.assetId);
          const condition = sweptAt !== undefined ? { onlineBefore: sweptAt } : since !== undefined ? { onlineSince: since } : undefined;
          const updated = await this.registry.devices.markOffline(device.assetId, at, condition);
          if (condition && !updated) {
            // A login written since, by another node, wins: nothing to announce.
            const now = await this.registry.devices.find({ assetId: device.assetId });
            if (now?.status === 'online' && now.lastOnlineTime !== since) return;
          }
        }
        this.emit(status, device, at);
      })
      .catch((err: unknown) => this.log.error({ err, assetId: device.assetId, status }, 'device status update failed'));
    this.chains.set(device.assetId, next);
    void next.finally(() => {
      if (this.chains.get(device.assetId) === next) this.chains.delete(device.assetId);
    });
    return next;
  }
}
